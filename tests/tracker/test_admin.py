import re
from datetime import date

import pytest
from django.contrib import admin as django_admin
from django.urls import reverse

from tests import factories
from tracker.admin import CaseAdmin
from tracker.models import Case, State


def transition_url(case, action):
    return reverse("admin:tracker_case_transition", args=[case.pk, action])


def change_url(case):
    return reverse("admin:tracker_case_change", args=[case.pk])


CHANGELIST = reverse("admin:tracker_case_changelist")
EMPTY_INLINES = {
    f"{prefix}-{count}": "0"
    for prefix in ("evidence", "transitions")
    for count in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def test_the_reviewer_sees_the_review_buttons_on_the_change_page(client, case_factory, reviewer):
    case = case_factory("in_review")
    client.force_login(reviewer)
    page = client.get(change_url(case)).content.decode()
    for label in ("Approve", "Request changes", "Reject"):
        assert f">{label}</button>" in page
    assert ">Submit</button>" not in page
    assert "Review: In review" in page


def test_approve_button_approves_and_records_the_transition(client, case_factory, reviewer):
    case = case_factory("in_review")
    factories.corroborate(case)
    client.force_login(reviewer)
    response = client.post(
        transition_url(case, "approve"), {"comment": "Two sources."}, follow=True
    )
    assert response.redirect_chain[-1][0] == change_url(case)
    assert f"{case.reference} approved." in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.APPROVED
    last = case.transitions.last()
    assert (last.actor, last.comment) == (reviewer, "Two sources.")


def test_reject_without_a_reason_shows_the_form_again_with_an_error(client, case_factory, reviewer):
    case = case_factory("in_review")
    client.force_login(reviewer)
    response = client.post(transition_url(case, "reject"), {"comment": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


def test_an_illegal_transition_keeps_what_the_reviewer_typed(client, case_factory, reviewer):
    case = case_factory("in_review")
    factories.corroborate(case)
    client.force_login(reviewer)
    client.post(transition_url(case, "approve"))
    response = client.post(transition_url(case, "reject"), {"comment": "My careful reasoning"})
    page = response.content.decode()
    assert "is approved, so it cannot be rejected" in page
    assert "My careful reasoning" in page


def test_a_monitor_gets_403_on_approve_in_the_admin(client, case_factory, other_monitor):
    case = case_factory("in_review")
    client.force_login(other_monitor)
    assert client.post(transition_url(case, "approve")).status_code == 403
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


def test_the_creator_gets_403_on_approving_their_own_case(client, case_factory, monitor):
    monitor.groups.add(*factories.reviewer().groups.all())
    case = case_factory("in_review")
    client.force_login(monitor)
    response = client.post(transition_url(case, "approve"))
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).state == State.IN_REVIEW


def test_an_unknown_action_is_404(client, case_factory, reviewer):
    client.force_login(reviewer)
    assert client.post(transition_url(case_factory("in_review"), "publish")).status_code == 404


def test_the_state_field_cannot_be_written_through_the_form(client, case_factory, monitor):
    case = case_factory("draft")
    client.force_login(monitor)
    page = client.get(change_url(case)).content.decode()
    assert 'name="state"' not in page
    data = {
        "title": "Edited title",
        "summary": case.summary,
        "incident_type": case.incident_type,
        "incident_start": "2024-02-27",
        "date_precision": "day",
        "place_name": "Rajin",
        "country": "KP",
        "state": "approved",
        **EMPTY_INLINES,
    }
    response = client.post(change_url(case), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert (case.title, case.state) == ("Edited title", State.DRAFT)
    assert case.history.first().history_user == monitor


def test_a_monitor_cannot_edit_a_submitted_case(client, case_factory, monitor):
    case = case_factory("submitted")
    client.force_login(monitor)
    page = client.get(change_url(case)).content.decode()
    assert 'name="title"' not in page
    response = client.post(change_url(case), {"title": "Sneaky edit"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.title != "Sneaky edit"


def test_monitor_creates_a_case_in_the_admin_as_its_creator(client, monitor):
    client.force_login(monitor)
    response = client.post(
        reverse("admin:tracker_case_add"),
        {
            "title": "Hwasong-11 debris in Kharkiv",
            "summary": "Debris of a missile that hit Kharkiv.",
            "incident_type": "battlefield_use",
            "incident_start": "2024-01-02",
            "date_precision": "day",
            "place_name": "Kharkiv",
            "country": "UA",
            **EMPTY_INLINES,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(title="Hwasong-11 debris in Kharkiv")
    assert (case.created_by, case.state) == (monitor, State.DRAFT)
    assert case.reference.startswith("CASE-")


def test_the_change_page_shows_the_review_history_read_only(client, case_factory, reviewer):
    case = case_factory("changes_requested")
    client.force_login(reviewer)
    page = client.get(change_url(case)).content.decode()
    assert "Review history" in page
    assert "Needs a second source." in page
    assert 'name="transitions-0-comment"' not in page


def test_nobody_can_delete_a_case(client, case_factory, admin_user):
    case = case_factory("draft")
    client.force_login(admin_user)
    assert client.post(reverse("admin:tracker_case_delete", args=[case.pk])).status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


def test_changelist_columns_filters_and_search(client, case_factory, reviewer):
    case_factory("submitted", title="Containers shipped via Rajin")
    case_factory("submitted", title="Missile debris in Kharkiv")
    client.force_login(reviewer)
    page = client.get(CHANGELIST, {"q": "Kharkiv"}).content.decode()
    assert "Missile debris in Kharkiv" in page
    assert "Containers shipped via Rajin" not in page
    for column in ("Reference", "Incident type", "State", "Assigned reviewer", "Time in state"):
        assert column in page
    assert "North Korea" in page  # the supplier filter offers the countries in use…
    assert "Zimbabwe" not in page  # …not every country there is
    filtered = client.get(CHANGELIST, {"state__exact": "approved"}).content.decode()
    assert "Missile debris in Kharkiv" not in filtered


def test_changelist_search_finds_words_by_their_inflections_and_references(
    client, case_factory, reviewer
):
    shipped = case_factory("submitted", summary="Containers of shells were shipped by rail.")
    struck = case_factory("submitted", title="Strike on a depot near Bryansk")
    client.force_login(reviewer)

    def found(term):
        return [
            case.reference for case in client.get(CHANGELIST, {"q": term}).context["cl"].result_list
        ]

    assert found("shipping containers") == [shipped.reference]
    assert found(struck.reference) == [struck.reference]
    assert found('"depot near"') == [struck.reference]
    assert found("containers -shipped") == [struck.reference]


def test_changelist_query_count_does_not_grow_with_rows(
    client, case_factory, reviewer, django_assert_max_num_queries
):
    client.force_login(reviewer)
    case_factory("submitted")
    # user, permissions, count, page, the weapon-system, transfer and incident-year
    # filters; the session comes from the cache
    with django_assert_max_num_queries(8) as few:
        client.get(CHANGELIST)
    for _ in range(15):
        case_factory("submitted")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(CHANGELIST)


def test_the_incident_year_filter_lists_the_years_and_filters_by_one(
    client, case_factory, reviewer
):
    case_factory("submitted", incident_start=date(2022, 3, 1), title="Rajin port")
    case_factory("submitted", incident_start=date(2024, 7, 9), title="Kharkiv debris")
    case_factory("approved", incident_start=date(2025, 1, 2), title="Bryansk depot")
    client.force_login(reviewer)

    page = client.get(CHANGELIST).content.decode()
    assert re.findall(r'href="\?incident_year=(\d+)"', page) == ["2025", "2024", "2023", "2022"]

    in_2024 = client.get(CHANGELIST, {"incident_year": "2024"}).content.decode()
    assert "Kharkiv debris" in in_2024
    assert "Rajin port" not in in_2024 and "Bryansk depot" not in in_2024


@pytest.mark.parametrize("year", ["twenty", "0", "99999", "-1"])
def test_an_incident_year_that_is_no_year_is_refused_without_an_error(
    client, case_factory, reviewer, year
):
    case_factory("submitted", incident_start=date(2024, 7, 9))
    client.force_login(reviewer)
    response = client.get(CHANGELIST, {"incident_year": year})
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


def bulk(client, action, cases, **extra):
    data = {"action": action, "_selected_action": [c.pk for c in cases], **extra}
    return client.post(CHANGELIST, data, follow=True)


def test_bulk_approve_reports_case_by_case(client, case_factory, reviewer, monitor):
    reviewer.groups.add(*monitor.groups.all())
    mine = case_factory("in_review", created_by=reviewer, by_reviewer=None)
    ready = case_factory("in_review")
    factories.corroborate(ready)
    waiting = case_factory("submitted")
    client.force_login(reviewer)

    confirm = bulk(client, "approve_selected", [mine, ready, waiting])
    assert "Approve 3 cases" in confirm.content.decode()
    done = bulk(client, "approve_selected", [mine, ready, waiting], apply="1", comment="OK")
    page = done.content.decode()

    assert f"{ready.reference} approved." in page
    assert f"{mine.reference}: not approved. You created {mine.reference}" in page
    assert f"{waiting.reference}: not approved. {waiting.reference} is submitted" in page
    states = {c.pk: c.state for c in Case.objects.all()}
    assert states == {mine.pk: "in_review", ready.pk: "approved", waiting.pk: "submitted"}


def test_bulk_reject_needs_one_reason_for_all(client, case_factory, reviewer):
    cases = [case_factory("in_review"), case_factory("in_review")]
    client.force_login(reviewer)
    response = bulk(client, "reject_selected", cases, apply="1", comment="")
    assert "This field is required." in response.content.decode()
    assert set(Case.objects.values_list("state", flat=True)) == {"in_review"}

    bulk(client, "reject_selected", cases, apply="1", comment="Single unverified source.")
    for case in cases:
        case.refresh_from_db()
        assert case.state == State.REJECTED
        assert case.transitions.last().comment == "Single unverified source."


def test_bulk_start_review_assigns_the_reviewer(client, case_factory, reviewer):
    cases = [case_factory("submitted"), case_factory("submitted")]
    client.force_login(reviewer)
    bulk(client, "start_review_selected", cases, apply="1")
    for case in cases:
        case.refresh_from_db()
        assert (case.state, case.assigned_reviewer) == (State.IN_REVIEW, reviewer)


def test_monitors_are_not_offered_review_actions(client, case_factory, other_monitor):
    case = case_factory("in_review")
    client.force_login(other_monitor)
    page = client.get(CHANGELIST).content.decode()
    assert "approve_selected" not in page
    bulk(client, "approve_selected", [case], apply="1")
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


@pytest.mark.parametrize("user_fixture", ["other_monitor", "reviewer"])
def test_other_peoples_drafts_are_hidden(client, case_factory, request, user_fixture):
    draft = case_factory("draft", title="Private working draft")
    client.force_login(request.getfixturevalue(user_fixture))
    assert "Private working draft" not in client.get(CHANGELIST).content.decode()
    assert client.get(change_url(draft)).status_code == 302  # admin: "doesn't exist"
    assert client.post(transition_url(draft, "submit")).status_code == 404


@pytest.mark.parametrize(
    "title", ['Strike on "Arsenal 67" & <depot>', "Перевозка снарядов", "Shells' transfer"]
)
def test_the_case_lists_checkboxes_are_djangos_own(case_factory, title):
    case = case_factory(title=title)
    case_admin = CaseAdmin(Case, django_admin.site)
    assert case_admin.action_checkbox(case) == django_admin.ModelAdmin.action_checkbox(
        case_admin, case
    )
