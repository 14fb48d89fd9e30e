"""The import's "done when", on the pages and the real worker: a monitor fills the
template with the demo's six seed incidents and a reworded copy of one, sees the copy
flagged as a possible duplicate in the preview, confirms, imports the same file again
and reads "0 changed".

The tracker holds the demo (``load_demo``), so the six seed incidents are its cases:
the monitor's rows name them by reference, as a monitor keeping their own list of the
seed cases would, and come back unchanged; the reworded copy is a new report, with the
monitor's own external id, which the preview compares with the cases they can see."""

import csv
import io
import tomllib

import pytest
from django.core.management import call_command
from django.urls import reverse

from demo.loader import DATA
from exchange.models import ImportJob, Status
from tests.conftest import wait_until
from tests.exchange.import_files import csv_bytes, upload
from tracker.models import Case, SanctionsProvision

# The third seed incident, the template's example, reworded: the same day, place and
# missile, told in other words.
COPY = {
    "external id": "KH-2024-01-02-B",
    "title": "Missile debris in Kharkiv derives from a DPRK Hwasong-11",
    "summary": "UN monitors said the debris of the missile that hit Kharkiv derives from "
    "a DPRK Hwasong-11 ballistic missile; where it was launched from is not established.",
}


def seed_rows():
    """The demo's six incidents as template rows, each naming its case by reference."""
    with DATA.open("rb") as file:
        incidents = tomllib.load(file)["incidents"]
    rows = []
    for incident in incidents:
        provisions = SanctionsProvision.objects.filter(resolution__in=incident["provisions"])
        rows.append(
            {
                "reference": Case.objects.get(title=incident["title"]).reference,
                "title": incident["title"],
                "summary": incident["summary"],
                "incident type": incident["incident_type"],
                "incident start": incident["incident_start"].isoformat(),
                "incident end": str(incident.get("incident_end", "")),
                "date precision": incident.get("date_precision", "day"),
                "place": incident["place_name"],
                "latitude": incident.get("latitude", ""),
                "longitude": incident.get("longitude", ""),
                "country": incident["country"],
                "supplier": incident["supplier_country"],
                "recipient": incident["recipient_country"],
                "weapon systems": "; ".join(incident["weapons"]),
                "sanctions provisions": "; ".join(str(p) for p in provisions.order_by("pk")),
                "reported quantity": incident.get("reported_quantity", ""),
            }
        )
    return rows


def page_text(client, url):
    return " ".join(client.get(url).content.decode().split())


def finished(job, status):
    wait_until(lambda: ImportJob.objects.get(pk=job.pk).status == status, 60, status)
    return ImportJob.objects.get(pk=job.pk)


def upload_file(client, data):
    response = client.post(reverse("imports:list"), {"file": upload(data, "seed.csv")})
    assert response.status_code == 302
    return ImportJob.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[-1])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_seed_incidents_and_a_reworded_copy_import_once(
    client, settings, capsys, celery_worker
):
    settings.DEBUG = True  # load_demo refuses to run otherwise
    call_command("load_demo")
    capsys.readouterr()  # the demo's passwords
    settings.DEBUG = False
    monitor = Case.objects.get(title__contains="Kharkiv").created_by
    client.force_login(monitor)
    kharkiv = Case.objects.get(title__contains="Kharkiv")

    # The template, with the seed incidents in it: its example is the third.
    template = client.get(reverse("imports:template", args=["csv"])).content.decode("utf-8-sig")
    header, example = list(csv.reader(io.StringIO(template)))
    assert dict(zip(header, example, strict=True))["title"] == kharkiv.title
    rows = seed_rows()
    assert rows[2]["title"] == kharkiv.title
    copy = {**rows[2], "reference": "", **COPY}
    data = csv_bytes([*rows, copy], headers=header)
    cases_before = Case.objects.count()

    # The preview: the six seed cases unchanged, the copy new and flagged.
    job = finished(upload_file(client, data), Status.PREVIEWED)
    text = page_text(client, job.get_absolute_url())
    assert "7 row(s): 1 to create, 0 to update, 6 unchanged, 0 with errors." in text
    assert "1 would change." in text
    assert f"<td>4</td><td>Unchanged</td><td>{kharkiv.reference}</td>" in text
    assert (
        f"<td>8</td><td>Create</td><td></td><td></td><td>May be the same incident as "
        f"{kharkiv.reference} (“{kharkiv.title}”)," in text
    )
    assert "Confirm: import 1 change(s)" in text
    assert Case.objects.count() == cases_before

    # Confirmed: the copy is the monitor's new draft, the seed cases as they were.
    client.post(reverse("imports:confirm", args=[job.pk]))
    job = finished(job, Status.APPLIED)
    assert "Imported: 1 changed." in page_text(client, job.get_absolute_url())
    new = Case.objects.get(external_id=COPY["external id"])
    assert (new.title, new.created_by, new.state) == (COPY["title"], monitor, "draft")
    history = sorted(Case.history.values_list("id", flat=True))

    # The same file again: every row found, nothing to do.
    again = finished(upload_file(client, data), Status.PREVIEWED)
    text = page_text(client, again.get_absolute_url())
    assert "7 row(s): 0 to create, 0 to update, 7 unchanged, 0 with errors." in text
    assert "0 would change." in text
    # Not told to correct errors it does not have (the page said so before).
    assert "Nothing to import: every row is unchanged." in text
    assert "Correct the rows with errors" not in text
    assert f"<td>8</td><td>Unchanged</td><td>{new.reference}</td>" in text
    assert "May be the same incident" not in text
    assert "Confirm" not in text
    assert Case.objects.count() == cases_before + 1
    assert sorted(Case.history.values_list("id", flat=True)) == history
