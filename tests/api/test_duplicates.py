"""The API warns of possible duplicates without refusing, and marks a duplicate."""

from datetime import date

import pytest

from tracker.models import Case, State

KHARKIV = {
    "title": "Debris of a missile that hit Kharkiv derives from a DPRK Hwasong-11",
    "summary": "Debris of a rocket that hit Kharkiv derives from a DPRK Hwasong-11 series "
    "ballistic missile, a violation of the arms embargo.",
    "incident_type": "battlefield_use",
    "incident_start": date(2024, 1, 2),
    "place_name": "Kharkiv",
    "country": "UA",
}
NEW = {
    "title": "Hwasong-11 debris found in Kharkiv",
    "summary": "Debris found in Kharkiv is from a North Korean Hwasong-11 missile.",
    "incident_type": "battlefield_use",
    "incident_start": "2024-01-02",
    "place_name": "Kharkiv",
    "country": "UA",
}


@pytest.fixture
def kharkiv(case_factory, other_monitor):
    return case_factory("submitted", created_by=other_monitor, **KHARKIV)


def test_a_created_case_comes_back_with_its_possible_duplicates(kharkiv, monitor, token_client):
    response = token_client(monitor).post("/api/v1/cases/", NEW, format="json")
    assert response.status_code == 201
    body = response.json()
    [candidate] = body["possible_duplicates"]
    assert candidate["reference"] == kharkiv.reference
    assert candidate["url"].endswith(f"/api/v1/cases/{kharkiv.reference}/")
    assert candidate["state"] == "submitted"
    assert 0 < candidate["score"] <= 1
    # A warning, not a refusal: the case is saved.
    assert Case.objects.filter(reference=body["reference"], created_by=monitor).exists()


def test_another_incident_has_none(kharkiv, monitor, token_client):
    other = NEW | {"title": "Drone strike on a depot", "summary": "Shells in a warehouse."}
    body = token_client(monitor).post("/api/v1/cases/", other, format="json").json()
    assert body["possible_duplicates"] == []


@pytest.mark.parametrize(
    "dates", [{"incident_start": "0001-01-01"}, {"incident_end": "9999-12-31"}]
)
def test_a_case_on_the_first_or_last_day_a_date_holds_is_logged(dates, monitor, token_client):
    # Its look-alike window would run past the calendar's ends.
    response = token_client(monitor).post("/api/v1/cases/", {**NEW, **dates}, format="json")
    assert response.status_code == 201
    assert response.json()["possible_duplicates"] == []


def test_an_edit_that_changes_the_incident_is_checked(kharkiv, case_factory, token_client, monitor):
    draft = case_factory("draft", title="Missile strike", summary="A strike.", country="KP")
    client = token_client(monitor)
    body = client.patch(f"/api/v1/cases/{draft.reference}/", NEW, format="json").json()
    assert [c["reference"] for c in body["possible_duplicates"]] == [kharkiv.reference]
    body = client.patch(
        f"/api/v1/cases/{draft.reference}/", {"reported_quantity": "one"}, format="json"
    ).json()
    assert body["possible_duplicates"] == []


def mark(client, case, **body):
    return client.post(
        f"/api/v1/cases/{case.reference}/actions/mark_duplicate/", body, format="json"
    )


def test_a_reviewer_marks_a_duplicate(kharkiv, case_factory, reviewer, token_client):
    repeat = case_factory("submitted")
    response = mark(token_client(reviewer), repeat, of=kharkiv.reference, comment="Same.")
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["duplicate_of"]) == ("withdrawn", kharkiv.reference)
    assert body["review_timeline"][-1]["comment"] == f"Duplicate of {kharkiv.reference}. Same."
    original = token_client(reviewer).get(f"/api/v1/cases/{kharkiv.reference}/").json()
    assert original["duplicates"] == [repeat.reference]


@pytest.mark.parametrize(
    ("of", "status", "message"),
    [
        (None, 400, "Say which case this one is a duplicate of (its reference)."),
        ("CASE-1999-0001", 400, "There is no case CASE-1999-0001 that you can see."),
        ("a draft", 400, "There is no case {draft} that you can see."),
        ("itself", 409, "{repeat} cannot be a duplicate of itself."),
    ],
)
def test_marking_is_refused_with_a_reason(
    case_factory, other_monitor, reviewer, token_client, of, status, message
):
    repeat = case_factory("submitted")
    draft = case_factory("draft", created_by=other_monitor)
    of = {"a draft": draft.reference, "itself": repeat.reference}.get(of, of)
    response = mark(token_client(reviewer), repeat, **({"of": of} if of else {}))
    assert response.status_code == status
    body = response.json()
    text = message.format(draft=draft.reference, repeat=repeat.reference)
    assert text in (body.get("detail", "") + str(body.get("errors", body)))
    assert Case.objects.get(pk=repeat.pk).state == State.SUBMITTED


def test_a_monitor_cannot_mark_a_duplicate(kharkiv, case_factory, other_monitor, token_client):
    repeat = case_factory("submitted")
    response = mark(token_client(other_monitor), repeat, of=kharkiv.reference)
    assert response.status_code == 403
    assert response.json()["detail"] == "Only reviewers can mark a case as a duplicate."
    assert Case.objects.get(pk=repeat.pk).state == State.SUBMITTED


def test_of_belongs_to_mark_duplicate_alone(kharkiv, case_factory, monitor, token_client):
    case = case_factory("submitted")
    response = token_client(monitor).post(
        f"/api/v1/cases/{case.reference}/actions/withdraw/", {"of": kharkiv.reference}
    )
    assert response.status_code == 400
    assert Case.objects.get(pk=case.pk).state == State.SUBMITTED
