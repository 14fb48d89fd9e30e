"""The import pages and the API's imports: upload, the preview on the real Celery
worker, its progress, confirming, the templates, and who may see and do what."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from exchange import imports
from exchange.models import ImportJob, Status
from exchange.template_file import HEADERS
from tests import factories
from tests.conftest import wait_until
from tests.exchange.import_files import csv_bytes, reference_data, row, run_import, upload
from tracker.models import Case, State


@pytest.fixture(autouse=True)
def demo_reference_data(db):
    reference_data()


def finished(job, status):
    wait_until(lambda: ImportJob.objects.get(pk=job.pk).status == status, 30, status)
    return ImportJob.objects.get(pk=job.pk)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_upload_preview_and_confirm_on_the_worker(client, monitor, celery_worker):
    client.force_login(monitor)
    data = csv_bytes([row(external_id="W-1"), row(external_id="W-2", title="Second")])
    response = client.post(reverse("imports:list"), {"file": upload(data)})
    job = ImportJob.objects.get()
    assert response.url == job.get_absolute_url()

    job = finished(job, Status.PREVIEWED)
    assert (job.created, job.errors) == (2, 0)
    assert not Case.objects.exists()
    progress = client.get(reverse("imports:progress", args=[job.pk])).json()
    assert progress == {
        "status": "previewed",
        "status_label": "Checked: confirm to import",
        "running": False,
        "rows": 2,
        "percent": 100,
    }
    page = client.get(job.get_absolute_url()).content.decode()
    assert "2 to create, 0 to update, 0 unchanged, 0 with errors" in page
    assert "Confirm: import 2 change(s)" in page

    client.post(reverse("imports:confirm", args=[job.pk]))
    job = finished(job, Status.APPLIED)
    assert Case.objects.filter(created_by=monitor, state=State.DRAFT).count() == 2
    assert "Imported: 2 changed." in client.get(job.get_absolute_url()).content.decode()


def test_a_running_import_shows_its_progress_without_inline_script(client, monitor):
    client.force_login(monitor)
    client.post(reverse("imports:list"), {"file": upload(csv_bytes([row()]))})
    job = ImportJob.objects.get()
    page = client.get(job.get_absolute_url()).content.decode()
    assert '<progress max="100" value="0"' in page
    assert "js/import-progress.js" in page
    assert "<script>" not in page
    assert client.get(reverse("imports:progress", args=[job.pk])).json()["running"] is True


def test_a_bad_file_is_reported_on_its_page(client, monitor):
    client.force_login(monitor)
    job = run_import(monitor, csv_bytes([row()], encoding="utf-16"))
    page = client.get(job.get_absolute_url()).content.decode()
    assert "The file is not UTF-8 text" in page
    assert "Confirm" not in page


def test_the_preview_lists_errors_with_row_and_column(client, monitor):
    client.force_login(monitor)
    job = run_import(monitor, csv_bytes([row(), row(incident_type="shelling")]))
    page = client.get(job.get_absolute_url() + "?show=errors").content.decode()
    assert "<td>3</td><td>Error</td><td></td><td>incident type</td>" in page
    assert "Select a valid choice. shelling is not one of the available choices." in page
    assert "Correct the rows with errors in the file and upload it again" in page


def test_a_file_over_the_upload_limit_is_refused_on_the_form(client, monitor, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    client.force_login(monitor)
    data = csv_bytes([row(summary="x" * 5000)])
    response = client.post(reverse("imports:list"), {"file": upload(data)})
    assert response.status_code == 200
    assert "The file is larger than 0 MB, the most an import takes." in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("address", ["imports:list", "api:imports"])
def test_a_file_whose_extension_is_too_long_for_a_file_name_is_received(client, monitor, address):
    client.force_login(monitor)
    name = "a." + "p" * 300
    response = client.post(
        reverse(address), **factories.multipart({}, "file", name, csv_bytes([row()]))
    )
    assert response.status_code == (302 if address == "imports:list" else 202)
    # Cut to the most a name may hold, as Django cuts an uploaded file's name.
    assert ImportJob.objects.get().original_filename == ("." + "p" * 300)[:255]


def test_the_templates_hold_the_columns_and_an_example_that_imports(client, monitor):
    client.force_login(monitor)
    csv_file = client.get(reverse("imports:template", args=["csv"]))
    assert csv_file["Content-Disposition"] == 'attachment; filename="cases-import-template.csv"'
    text = csv_file.content.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(HEADERS)
    assert "Hwasong-11" in text
    xlsx_file = client.get(reverse("imports:template", args=["xlsx"]))
    sheet = load_workbook(io.BytesIO(xlsx_file.content)).active
    assert [cell.value for cell in sheet[1]] == HEADERS

    for data, name in ((csv_file.content, "t.csv"), (xlsx_file.content, "t.xlsx")):
        job = run_import(monitor, data, name=name)
        assert (job.status, job.created) == (Status.APPLIED, 1), job.message
    assert client.get(reverse("imports:template", args=["pdf"])).status_code == 404


# Who may do what.


def test_reviewers_and_stakeholders_may_not_import(client, reviewer, stakeholder):
    for user in (reviewer, stakeholder):
        client.force_login(user)
        assert client.get(reverse("imports:list")).status_code == 403
        response = client.post(reverse("imports:list"), {"file": upload(csv_bytes([row()]))})
        assert response.status_code == 403
        assert client.get(reverse("imports:template", args=["csv"])).status_code == 403
    assert not ImportJob.objects.exists()


def test_an_import_is_seen_by_its_importer_and_administrators_only(
    client, monitor, other_monitor, admin_user
):
    job = run_import(monitor, csv_bytes([row()]), confirm=False)
    urls = [
        job.get_absolute_url(),
        reverse("imports:progress", args=[job.pk]),
    ]
    client.force_login(other_monitor)
    for url in urls:
        assert client.get(url).status_code == 404
    assert client.post(reverse("imports:confirm", args=[job.pk])).status_code == 404
    assert job.original_filename not in client.get(reverse("imports:list")).content.decode()
    client.force_login(admin_user)
    assert client.get(job.get_absolute_url()).status_code == 200
    # An administrator reads it but does not confirm another's import.
    assert client.post(reverse("imports:confirm", args=[job.pk])).status_code == 403
    assert ImportJob.objects.get().status == Status.PREVIEWED


# The API.


def test_the_api_previews_then_imports_when_confirmed(client, monitor):
    client.force_login(monitor)
    response = client.post(
        reverse("api:imports"), {"file": upload(csv_bytes([row(), row(title="Two")]))}
    )
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert response.json()["status"] == "preview_queued"
    imports.preview(job_id)  # what the worker runs

    detail = client.get(reverse("api:import", args=[job_id])).json()
    assert (detail["status"], detail["created"], detail["may_confirm"]) == ("previewed", 2, True)
    assert [r["action"] for r in detail["rows_listed"]] == ["create", "create"]
    assert not Case.objects.exists()

    response = client.post(reverse("api:import_confirm", args=[job_id]))
    assert (response.status_code, response.json()["status"]) == (202, "apply_queued")
    imports.apply(job_id)
    assert Case.objects.filter(created_by=monitor).count() == 2

    again = client.post(reverse("api:import_confirm", args=[job_id]))
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    assert again.json()["detail"] == (
        f"Import {job_id} is imported: only a preview without errors is imported, once."
    )


def test_a_second_preview_of_a_file_imported_since_is_refused_saying_why(client, monitor):
    data = csv_bytes([row()])
    first, second = (run_import(monitor, data, confirm=False) for _ in range(2))
    client.force_login(monitor)
    api = client.post(reverse("api:import_confirm", args=[first.pk])).json()
    assert (api["sha256"], api["imported_before"]) == (first.sha256, None)
    imports.apply(first.pk)

    page = client.post(reverse("imports:confirm", args=[second.pk]), follow=True)
    text = page.content.decode()
    assert f"You imported this same file as import {first.pk} (confirmed on" in text
    assert "This same file (the same bytes) was imported before" in text
    assert f'<a href="{first.get_absolute_url()}">import {first.pk}</a>' in text
    api = client.post(reverse("api:import_confirm", args=[second.pk]))
    assert api.status_code == 409
    assert api.json()["detail"].startswith(f"You imported this same file as import {first.pk}")
    detail = client.get(reverse("api:import", args=[second.pk])).json()
    assert (detail["status"], detail["imported_before"]) == ("previewed", first.pk)
    assert Case.objects.count() == 1


def test_the_api_refuses_with_problem_details(client, monitor, stakeholder, settings):
    client.force_login(monitor)
    response = client.post(reverse("api:imports"), {})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/file"
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    response = client.post(reverse("api:imports"), {"file": upload(b"x" * 5000)})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "pointer": "#/file",
            "detail": "The file is larger than 0 MB, the most an import takes. Split it into "
            "parts and import each.",
        }
    ]
    client.force_login(stakeholder)
    response = client.post(reverse("api:imports"), {"file": upload(csv_bytes([row()]))})
    assert response.status_code == 403
    assert response.json()["detail"] == "Only monitors can import cases."
    assert not ImportJob.objects.exists()
