from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from tracker.models import Case

DASHBOARD = reverse("tracker:dashboard")


def test_signing_in_leads_to_the_dashboard(client, monitor):
    response = client.post(
        reverse("login"),
        {"username": "monitor", "password": "correct horse battery staple"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == DASHBOARD
    assert "Waiting for me" in response.content.decode()


def test_it_counts_visible_cases_by_state(client, case_factory, monitor, other_monitor):
    case_factory()
    case_factory("submitted")
    case_factory("submitted")
    case_factory(created_by=other_monitor)
    client.force_login(monitor)
    by_state = {state.value: n for state, n in client.get(DASHBOARD).context["by_state"]}
    assert by_state["draft"] == 1
    assert by_state["submitted"] == 2
    assert by_state["approved"] == 0


def test_it_charts_cases_per_incident_month_with_empty_months(client, case_factory, monitor):
    case_factory(incident_start=date(2024, 1, 2))
    case_factory(incident_start=date(2024, 1, 20))
    case_factory(incident_start=date(2024, 3, 5))
    client.force_login(monitor)
    response = client.get(DASHBOARD)
    bars = [(bar["month"].strftime("%Y-%m"), bar["count"]) for bar in response.context["months"]]
    assert bars == [("2024-01", 2), ("2024-02", 0), ("2024-03", 1)]
    html = response.content.decode()
    assert "<svg" in html
    assert "January 2024: 2" in html


def test_a_monitor_waits_on_own_drafts_and_cases_sent_back(
    client, case_factory, monitor, other_monitor
):
    draft = case_factory()
    sent_back = case_factory("changes_requested")
    case_factory("submitted")
    case_factory("changes_requested", created_by=other_monitor)
    client.force_login(monitor)
    waiting = client.get(DASHBOARD).context["waiting_for_me"]
    assert set(waiting) == {draft, sent_back}


def test_a_reviewer_waits_on_submitted_cases_and_own_reviews(
    client, case_factory, reviewer, other_reviewer
):
    submitted = case_factory("submitted")
    mine = case_factory("submitted")
    from tracker import workflow

    workflow.start_review(mine, reviewer)
    theirs = case_factory("submitted")
    workflow.start_review(theirs, other_reviewer)
    client.force_login(reviewer)
    waiting = client.get(DASHBOARD).context["waiting_for_me"]
    assert set(waiting) == {submitted, mine}


def test_it_lists_cases_waiting_longer_than_the_sla(client, case_factory, monitor, settings):
    settings.REVIEW_SLA_DAYS = 3
    stale = case_factory("submitted")
    Case.objects.filter(pk=stale.pk).update(state_changed_at=timezone.now() - timedelta(days=4))
    case_factory("submitted")
    old_draft = case_factory()
    Case.objects.filter(pk=old_draft.pk).update(
        state_changed_at=timezone.now() - timedelta(days=30)
    )
    client.force_login(monitor)
    response = client.get(DASHBOARD)
    assert list(response.context["stale"]) == [stale]
    assert "waiting longer than 3 days" in response.content.decode()


def test_a_long_backlog_shows_the_longest_waiting_and_a_link_to_all(
    client, case_factory, monitor, settings
):
    settings.REVIEW_SLA_DAYS = 3
    cases = [case_factory("submitted") for _ in range(22)]
    for days, case in enumerate(cases, start=4):
        Case.objects.filter(pk=case.pk).update(
            state_changed_at=timezone.now() - timedelta(days=days)
        )
    client.force_login(monitor)
    response = client.get(DASHBOARD)

    listed = list(response.context["stale"])
    assert len(listed) == 20
    assert listed[0] == cases[-1]  # the one waiting longest comes first
    page = response.content.decode()
    assert "The 20 that have waited longest, of 22." in page
    assert (
        "?state=submitted&amp;state=in_review&amp;state=changes_requested&amp;sort=changed" in page
    )


def test_stakeholders_see_counts_of_approved_cases_only(client, case_factory, stakeholder):
    case_factory("approved")
    case_factory("submitted")
    client.force_login(stakeholder)
    by_state = {state.value: n for state, n in client.get(DASHBOARD).context["by_state"]}
    assert by_state == {state: (1 if state == "approved" else 0) for state in by_state}
