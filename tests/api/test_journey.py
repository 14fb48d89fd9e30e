"""The README's journey through the API: a monitor logs a case with a file as evidence
and submits it, a reviewer approves it, and a stakeholder reads it."""

from django.core.files.uploadedfile import SimpleUploadedFile

from evidence.models import CustodyAction, CustodyEvent, EvidenceItem
from tests import factories
from tracker.models import Case, State, WeaponSystem

CASE = {
    "title": "Debris of a Hwasong-11 missile in Kharkiv",
    "summary": "UN sanctions monitors found the debris came from a DPRK Hwasong-11.",
    "incident_type": "battlefield_use",
    "incident_start": "2024-01-02",
    "place_name": "Kharkiv",
    "country": "UA",
    "supplier_country": "KP",
    "recipient_country": "RU",
}


def test_a_script_logs_a_case_with_a_file_a_reviewer_approves_it_a_stakeholder_reads_it(
    monitor, reviewer, stakeholder, token_client
):
    hwasong = WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24)")
    monitors = factories.SourceFactory(name="UN sanctions monitors")
    as_monitor = token_client(monitor)

    created = as_monitor.post("/api/v1/cases/", {**CASE, "weapon_systems": [hwasong.pk]})
    assert created.status_code == 201, created.json()
    reference = created.json()["reference"]
    assert created.json()["state"] == "draft"
    assert created.json()["weapon_systems"][0]["name"] == "Hwasong-11 (KN-23/KN-24)"

    added = as_monitor.post(
        f"/api/v1/cases/{reference}/evidence/",
        {
            "title": "Report to the Security Council",
            "source": monitors.pk,
            "kind": "official_report",
            "stance": "supports",
            "upload": _file("report.txt", b"The debris came from a Hwasong-11 missile.\n"),
        },
        format="multipart",
    )
    assert added.status_code == 201, added.json()
    item = EvidenceItem.objects.get()
    assert added.json()["file"]["content_type"] == "text/plain"
    assert list(item.custody.values_list("action", flat=True)) == ["collected", "uploaded"]

    submitted = as_monitor.post(f"/api/v1/cases/{reference}/actions/submit/", {})
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["state"] == "submitted"

    as_reviewer = token_client(reviewer)
    assert as_reviewer.post(f"/api/v1/cases/{reference}/actions/start_review/").status_code == 200
    refused = as_reviewer.post(f"/api/v1/cases/{reference}/actions/approve/", {})
    assert refused.status_code == 409
    assert "approval needs 2" in refused.json()["detail"]
    approved = as_reviewer.post(
        f"/api/v1/cases/{reference}/actions/approve/",
        {"comment": "Consistent.", "justification": "The UN monitors examined the debris."},
    )
    assert approved.status_code == 200, approved.json()
    assert approved.json()["state"] == "approved"
    assert [step["to_state"] for step in approved.json()["review_timeline"]] == [
        "submitted",
        "in_review",
        "approved",
    ]

    as_stakeholder = token_client(stakeholder, scope="read")
    listed = as_stakeholder.get(
        "/api/v1/cases/", {"state": "approved", "weapon_system": hwasong.pk}
    )
    assert [case["reference"] for case in listed.json()["results"]] == [reference]
    download = as_stakeholder.get(added.json()["download"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"The debris")
    assert CustodyEvent.objects.filter(item=item, action=CustodyAction.DOWNLOADED).count() == 1


def _file(name, content):
    return SimpleUploadedFile(name, content)


def test_stakeholders_see_approved_cases_only(case_factory, stakeholder, token_client):
    approved = case_factory("approved")
    hidden = [case_factory(state) for state in State if state != State.APPROVED]
    client = token_client(stakeholder)
    listed = client.get("/api/v1/cases/").json()["results"]
    assert [case["reference"] for case in listed] == [approved.reference]
    for case in hidden:
        assert client.get(f"/api/v1/cases/{case.reference}/").status_code == 404
    assert Case.objects.count() == len(State)
