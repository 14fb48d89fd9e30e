import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from api.models import ApiToken, Scope
from evidence.custody import add_evidence
from tests import factories

CONTENT = b"%PDF-1.7\nKirby briefing transcript"


@pytest.fixture
def make_item(monitor, evidence_root):
    def make(case):
        return add_evidence(
            case,
            monitor,
            upload=ContentFile(CONTENT),
            original_filename="kirby briefing.pdf",
            source=factories.SourceFactory(),
            kind="statement",
            stance="supports",
            title="Kirby",
        )

    return make


def download_url(item):
    return reverse("evidence:download", args=[item.pk])


def test_a_reviewer_downloads_an_attachment_and_it_is_on_record(
    client, case_factory, make_item, reviewer
):
    case = case_factory("draft")
    item = make_item(case)
    from tracker import workflow

    workflow.submit(case, case.created_by)
    client.force_login(reviewer)
    response = client.get(download_url(item))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    assert response["Content-Disposition"] == 'attachment; filename="kirby briefing.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    event = item.custody.last()
    assert (event.action, event.actor, event.sha256) == ("downloaded", reviewer, item.file.sha256)


def test_a_head_request_takes_nothing_away_and_is_not_on_record(
    client, case_factory, make_item, monitor
):
    item = make_item(case_factory("draft"))
    before = list(item.custody.values_list("action", flat=True))
    client.force_login(monitor)
    _, token = ApiToken.issue(monitor, "test script", Scope.READ)

    assert client.head(download_url(item)).status_code == 200
    api = client.head(f"/api/v1/evidence/{item.pk}/file/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 200

    assert list(item.custody.values_list("action", flat=True)) == before
    assert client.get(download_url(item)).status_code == 200
    assert item.custody.last().action == "downloaded"


def test_downloads_need_a_login(client, case_factory, make_item):
    item = make_item(case_factory("draft"))
    response = client.get(download_url(item))
    assert response.status_code == 302
    assert not item.custody.filter(action="downloaded").exists()


def test_nobody_else_downloads_from_a_draft(
    client, case_factory, make_item, other_monitor, reviewer
):
    item = make_item(case_factory("draft"))
    for user in (other_monitor, reviewer):
        client.force_login(user)
        assert client.get(download_url(item)).status_code == 404
    assert not item.custody.filter(action="downloaded").exists()


def test_stakeholders_download_only_from_approved_cases(
    client, case_factory, make_item, stakeholder, monitor, reviewer
):
    from tracker import workflow

    case = case_factory("draft")
    item = make_item(case)
    workflow.submit(case, monitor)
    client.force_login(stakeholder)
    assert client.get(download_url(item)).status_code == 404

    workflow.start_review(case, reviewer)
    workflow.approve(case, reviewer, justification="One official transcript suffices here.")
    assert client.get(download_url(item)).status_code == 200


def test_a_missing_file_is_a_clear_404_not_a_500(client, case_factory, make_item, monitor):
    from evidence.files import path_of

    item = make_item(case_factory("draft"))
    path_of(item.file).unlink()
    client.force_login(monitor)
    response = client.get(download_url(item))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "offered_as"),
    [
        ("x.exe", b"Shipment list, plain text", "x.txt"),
        ("run.BAT", b"del *.*", "run.txt"),
        ("page.html", b"Transcript of the briefing", "page.txt"),
        ("drawing.svg", b"Not a drawing at all", "drawing.txt"),
        ("loader.js", b"Transcript", "loader.txt"),
        ("manifest.csv", b"container,port\nKN-001,Rajin\n", "manifest.csv"),
        ("notes.TXT", b"Notes", "notes.TXT"),
        ("debris.svg", b"\x89PNG\r\n\x1a\n" + bytes(64), "debris.png"),
        ("report", CONTENT, "report.pdf"),
        ("report.pdf.exe", CONTENT, "report.pdf.pdf"),
    ],
)
def test_a_file_is_offered_under_a_name_that_fits_its_bytes(
    client, case_factory, monitor, evidence_root, name, content, offered_as
):
    item = add_evidence(
        case_factory("draft"),
        monitor,
        upload=ContentFile(content),
        original_filename=name,
        source=factories.SourceFactory(),
        kind="document",
        stance="supports",
        title="Manifest",
    )
    client.force_login(monitor)
    response = client.get(download_url(item))
    assert response["Content-Disposition"] == f'attachment; filename="{offered_as}"'
    assert item.original_filename == name
