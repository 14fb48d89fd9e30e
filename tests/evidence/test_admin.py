import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from evidence.custody import add_evidence
from evidence.models import EvidenceItem, StoredFile
from tests import factories

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 5000  # over a megabyte: several upload chunks


def case_form(case, **evidence):
    """The admin change form of ``case`` with one new evidence item."""
    data = {
        **factories.case_form(case),
        "transitions-TOTAL_FORMS": "0",
        "transitions-INITIAL_FORMS": "0",
        "evidence-TOTAL_FORMS": "1",
        "evidence-INITIAL_FORMS": "0",
    }
    data.update({f"evidence-0-{key}": value for key, value in evidence.items()})
    return data


def evidence_fields(source, upload):
    return {
        "source": source.pk,
        "kind": "document",
        "stance": "supports",
        "credibility": "2",
        "title": "Rail manifest",
        "upload": upload,
    }


def test_an_upload_through_the_admin_is_hashed_and_on_record(
    client, case_factory, monitor, evidence_root
):
    case = case_factory("draft")
    client.force_login(monitor)
    upload = SimpleUploadedFile("manifest.pdf", PDF, content_type="application/pdf")
    response = client.post(
        reverse("admin:tracker_case_change", args=[case.pk]),
        case_form(case, **evidence_fields(factories.SourceFactory(), upload)),
    )
    assert response.status_code == 302
    item = EvidenceItem.objects.get()
    assert item.file.sha256 == hashlib.sha256(PDF).hexdigest()
    assert item.original_filename == "manifest.pdf"
    assert list(item.custody.values_list("action", flat=True)) == ["collected", "uploaded"]
    assert not list((evidence_root / "incoming").iterdir())


def test_a_refused_upload_is_shown_on_the_form_and_keeps_the_typed_fields(
    client, case_factory, monitor, evidence_root
):
    case = case_factory("draft")
    client.force_login(monitor)
    upload = SimpleUploadedFile("page.gif", b"GIF89a<html><script>x()</script>")
    response = client.post(
        reverse("admin:tracker_case_change", args=[case.pk]),
        case_form(case, **evidence_fields(factories.SourceFactory(), upload)),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "contains HTML or SVG markup" in page
    assert 'value="Rail manifest"' in page
    assert not EvidenceItem.objects.exists()
    assert not StoredFile.objects.exists()


def test_an_oversized_upload_over_http_is_refused(
    client, case_factory, monitor, settings, evidence_root
):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024 * 1024
    case = case_factory("draft")
    client.force_login(monitor)
    upload = SimpleUploadedFile("huge.pdf", PDF)
    response = client.post(
        reverse("admin:tracker_case_change", args=[case.pk]),
        case_form(case, **evidence_fields(factories.SourceFactory(), upload)),
    )
    assert "the limit for one evidence file is 1.0" in response.content.decode()
    assert not EvidenceItem.objects.exists()
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []


def files_under(root):
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("case_changes", "evidence_changes"),
    [({}, {"title": ""}), ({"title": ""}, {})],
    ids=["evidence field missing", "case field missing"],
)
def test_a_file_on_a_form_with_errors_is_not_stored(
    client, case_factory, monitor, evidence_root, case_changes, evidence_changes
):
    case = case_factory("draft")
    client.force_login(monitor)
    upload = SimpleUploadedFile("manifest.pdf", PDF)
    fields = {**evidence_fields(factories.SourceFactory(), upload), **evidence_changes}
    data = {**case_form(case, **fields), **case_changes}
    response = client.post(reverse("admin:tracker_case_change", args=[case.pk]), data)
    assert response.status_code == 200
    assert "Please correct the error" in response.content.decode()
    assert not StoredFile.objects.exists()
    assert files_under(evidence_root) == []


def test_a_refused_file_is_reported_with_the_other_errors(
    client, case_factory, monitor, evidence_root
):
    case = case_factory("draft")
    client.force_login(monitor)
    upload = SimpleUploadedFile("notes.txt", b"<!--" + b"x" * 5000 + b"--><svg onload=x()>")
    fields = evidence_fields(factories.SourceFactory(), upload)
    data = {**case_form(case, **fields), "title": ""}
    response = client.post(reverse("admin:tracker_case_change", args=[case.pk]), data)
    page = response.content.decode()
    assert "HTML or SVG markup" in page
    assert "This field is required." in page
    assert not StoredFile.objects.exists()
    assert files_under(evidence_root) == []


def test_a_file_name_with_a_direction_mark_is_refused_in_the_admin(
    client, case_factory, monitor, evidence_root
):
    case = case_factory("draft")
    client.force_login(monitor)
    fields = case_form(case, **evidence_fields(factories.SourceFactory(), None))
    del fields["evidence-0-upload"]
    response = client.post(
        reverse("admin:tracker_case_change", args=[case.pk]),
        **factories.multipart(fields, "evidence-0-upload", "invoice\u202efdp.exe", PDF),
    )
    assert "control or invisible characters" in response.content.decode()
    assert not EvidenceItem.objects.exists()
    assert files_under(evidence_root) == []


def test_the_admin_still_checks_the_csrf_token_on_uploads(case_factory, monitor, evidence_root):
    case = case_factory("draft")
    client = Client(enforce_csrf_checks=True)
    client.force_login(monitor)
    upload = SimpleUploadedFile("manifest.pdf", PDF)
    response = client.post(
        reverse("admin:tracker_case_change", args=[case.pk]),
        case_form(case, **evidence_fields(factories.SourceFactory(), upload)),
    )
    assert response.status_code == 403
    assert not EvidenceItem.objects.exists()
    assert files_under(evidence_root) == []


def test_the_evidence_admin_filters_and_records_views(client, case_factory, reviewer):
    case = case_factory("submitted")
    supporting = factories.EvidenceItemFactory(case=case, stance="supports", title="NIS briefing")
    factories.EvidenceItemFactory(case=case, stance="refutes", title="Peskov denial")
    client.force_login(reviewer)

    page = client.get(reverse("admin:evidence_evidenceitem_changelist"), {"stance": "refutes"})
    assert "Peskov denial" in page.content.decode()
    assert "NIS briefing" not in page.content.decode()

    client.get(reverse("admin:evidence_evidenceitem_change", args=[supporting.pk]))
    assert supporting.custody.last().action == "viewed"


def test_custody_cannot_be_edited_or_deleted_in_the_admin(client, case_factory, admin_user):
    case = case_factory("draft")
    item = factories.EvidenceItemFactory(case=case)
    from evidence import custody

    event = custody.record(item, "verified")
    client.force_login(admin_user)
    change = reverse("admin:evidence_custodyevent_change", args=[event.pk])
    assert 'name="note"' not in client.get(change).content.decode()
    assert client.post(change, {"note": "rewritten"}).status_code == 403
    delete = reverse("admin:evidence_custodyevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.note == ""


def test_the_admin_and_the_monitors_page_record_an_arriving_file_alike(
    client, case_factory, monitor, evidence_root
):
    """Both ways of adding evidence with a file store it once and write the same custody."""
    source = factories.SourceFactory()
    on_page, in_admin = case_factory("draft"), case_factory("draft")
    client.force_login(monitor)
    client.post(
        reverse("tracker:evidence_add", args=[on_page.pk]),
        {
            **{k: v for k, v in evidence_fields(source, None).items() if k != "upload"},
            "upload": SimpleUploadedFile("manifest.pdf", PDF),
        },
    )
    client.post(
        reverse("admin:tracker_case_change", args=[in_admin.pk]),
        case_form(in_admin, **evidence_fields(source, SimpleUploadedFile("manifest.pdf", PDF))),
    )

    page_item, admin_item = (EvidenceItem.objects.get(case=case) for case in (on_page, in_admin))
    assert page_item.file == admin_item.file
    assert page_item.original_filename == admin_item.original_filename == "manifest.pdf"

    def custody(item):
        return list(item.custody.values_list("action", "actor", "sha256", "note"))

    assert custody(page_item) == custody(admin_item)


def test_the_admin_and_the_monitors_page_record_an_edit_alike(client, case_factory, monitor):
    """The case page in the admin edits evidence inline; its edits write the same
    custody as the monitors' page."""
    item = add_evidence(
        case_factory("draft"),
        monitor,
        source=factories.SourceFactory(name="ROK Ministry of National Defense"),
        kind="statement",
        stance="supports",
        credibility=3,
        title="Briefing to lawmakers",
        excerpt="About 6,700 containers.",
    )
    client.force_login(monitor)
    url = reverse("admin:tracker_case_change", args=[item.case.pk])
    data = case_form(
        item.case,
        id=item.pk,
        source=item.source_id,
        kind=item.kind,
        stance=item.stance,
        credibility=item.credibility,
        title="Briefing, corrected",
        excerpt=item.excerpt,
    )
    data.update({"evidence-INITIAL_FORMS": "1", "evidence-0-case": item.case.pk})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    edited = item.custody.get(action="edited")
    assert edited.actor == monitor
    assert edited.note == "title: “Briefing to lawmakers” → “Briefing, corrected”"
    assert item.history.latest("history_id").history_user == monitor
