import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tracker import workflow
from tracker.charts import month_chart
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
    chart = response.context["chart"]
    bars = [(bar.month.strftime("%Y-%m"), bar.count) for bar in chart.bars]
    assert bars == [("2024-01", 2), ("2024-02", 0), ("2024-03", 1)]
    html = response.content.decode()
    assert "<svg" in html
    assert "January 2024: 2" in html


def svg_texts(html, css_class):
    """The text of each <text class="css_class"> of the page's chart."""
    svg = html[html.index("<svg") : html.index("</svg>")]
    return re.findall(rf'<text class="{css_class}"[^>]*>([^<]*)</text>', svg)


def test_the_chart_has_a_title_axis_labels_and_values(client, case_factory, monitor):
    for day in (2, 9, 20):
        case_factory(incident_start=date(2024, 11, day))
    case_factory(incident_start=date(2025, 1, 5))
    client.force_login(monitor)
    html = client.get(DASHBOARD).content.decode()

    assert svg_texts(html, "chart-title") == [
        "Cases per month of the incident, Nov 2024 – Jan 2025"
    ]
    assert svg_texts(html, "chart-axis-label") == ["Cases", "Month of the incident"]
    # Each bar's count above it; an empty month has a bar of no height and no number.
    assert svg_texts(html, "chart-value") == ["3", "1"]
    assert svg_texts(html, "chart-month-label") == ["Nov", "Dec", "Jan"]
    # The year under the first month and where a new year starts.
    assert svg_texts(html, "chart-year-label") == ["2024", "2025"]
    # The count axis: round steps from 0 to at least the tallest bar.
    assert svg_texts(html, "chart-tick") == ["0", "1", "2", "3"]
    # Drawn by the server, styled by the stylesheet: no script, no inline style.
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "<script" not in svg and "style=" not in svg


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [(1, [0, 1]), (4, [0, 1, 2, 3, 4]), (7, [0, 2, 4, 6, 8]), (36, [0, 10, 20, 30, 40])],
)
def test_the_count_axis_has_round_steps(highest, ticks):
    chart = month_chart({date(2024, 1, 1): highest}, "Cases")
    assert [tick.value for tick in chart.ticks] == ticks
    # The tallest bar reaches the tick of its value, or below the top tick.
    (bar,) = chart.bars
    top_tick = chart.ticks[-1]
    assert bar.top >= top_tick.y
    assert bar.top + bar.height == chart.bottom


def test_two_years_of_months_keep_their_labels_apart():
    counts = {date(2023 + (m - 1) // 12, (m - 1) % 12 + 1, 1): m for m in range(1, 31)}
    chart = month_chart(counts, "Cases")
    assert len(chart.bars) == 24  # the latest 24 months
    assert chart.bars[0].month == date(2023, 7, 1)
    slot = chart.bars[1].centre - chart.bars[0].centre
    # A three-letter month at the stylesheet's 12px takes about 22 units.
    assert slot >= 24


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


def counts_by_state(response):
    return {state.value: n for state, n in response.context["by_state"]}


def chart_bars(response):
    chart = response.context["chart"]
    return [(bar.month.strftime("%Y-%m"), bar.count) for bar in chart.bars] if chart else []


def test_a_case_submitted_since_the_last_view_is_counted_at_once(
    client, case_factory, monitor, other_monitor, django_capture_on_commit_callbacks
):
    case_factory("submitted", created_by=other_monitor)
    client.force_login(monitor)
    assert counts_by_state(client.get(DASHBOARD))["submitted"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        case_factory("submitted", created_by=other_monitor)

    assert counts_by_state(client.get(DASHBOARD))["submitted"] == 2


def test_a_case_moved_or_given_other_dates_shows_at_once(
    client, case_factory, monitor, reviewer, django_capture_on_commit_callbacks
):
    case = case_factory("submitted", incident_start=date(2024, 1, 2))
    client.force_login(monitor)
    assert chart_bars(client.get(DASHBOARD)) == [("2024-01", 1)]

    with django_capture_on_commit_callbacks(execute=True):
        workflow.start_review(case, reviewer)
    assert counts_by_state(client.get(DASHBOARD))["in_review"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        case.incident_start = date(2024, 3, 5)
        case.save()
    assert chart_bars(client.get(DASHBOARD)) == [("2024-03", 1)]


def test_each_monitor_counts_their_own_drafts_and_nobody_elses(
    client, case_factory, monitor, other_monitor
):
    case_factory(incident_start=date(2024, 1, 2))
    case_factory(incident_start=date(2024, 2, 2))
    case_factory(created_by=other_monitor, incident_start=date(2024, 5, 2))
    case_factory("submitted", created_by=other_monitor, incident_start=date(2024, 2, 9))
    client.force_login(other_monitor)
    other = client.get(DASHBOARD)
    client.force_login(monitor)
    mine = client.get(DASHBOARD)

    assert counts_by_state(other)["draft"] == 1
    assert chart_bars(other) == [("2024-02", 1), ("2024-03", 0), ("2024-04", 0), ("2024-05", 1)]
    assert counts_by_state(mine)["draft"] == 2
    assert chart_bars(mine) == [("2024-01", 1), ("2024-02", 2)]


def test_a_stakeholder_never_sees_the_teams_counts(client, case_factory, monitor, stakeholder):
    case_factory("approved", incident_start=date(2024, 1, 2))
    for state in ("submitted", "in_review", "rejected"):
        case_factory(state, incident_start=date(2024, 1, 9))
    client.force_login(monitor)
    assert chart_bars(client.get(DASHBOARD)) == [("2024-01", 4)]

    client.force_login(stakeholder)
    response = client.get(DASHBOARD)
    assert chart_bars(response) == [("2024-01", 1)]
    assert "January 2024: 1" in response.content.decode()


def test_a_user_without_a_role_gets_nothing_of_what_others_see(
    client, case_factory, monitor, stakeholder
):
    case_factory("approved", incident_start=date(2024, 1, 2))
    for user in (monitor, stakeholder):
        client.force_login(user)
        assert chart_bars(client.get(DASHBOARD))
    client.force_login(factories.UserFactory(username="nobody"))

    response = client.get(DASHBOARD)

    assert response.context["chart"] is None
    assert "by_state" not in response.context
    assert "January 2024" not in response.content.decode()


def test_a_stale_case_moved_on_leaves_the_list_at_once(
    client, case_factory, monitor, reviewer, settings, django_capture_on_commit_callbacks
):
    settings.REVIEW_SLA_DAYS = 3
    stale = case_factory("submitted")
    Case.objects.filter(pk=stale.pk).update(state_changed_at=timezone.now() - timedelta(days=4))
    client.force_login(monitor)
    assert list(client.get(DASHBOARD).context["stale"]) == [stale]

    with django_capture_on_commit_callbacks(execute=True):
        workflow.start_review(stale, reviewer)

    assert list(client.get(DASHBOARD).context["stale"]) == []


def test_a_second_view_reads_the_counts_from_the_cache(
    client, case_factory, monitor, other_monitor, django_assert_max_num_queries
):
    case_factory()
    for state in ("submitted", "approved", "changes_requested"):
        case_factory(state, created_by=other_monitor)
    client.force_login(monitor)
    first = client.get(DASHBOARD)

    # The user, their permissions, their own drafts, what waits for them (its keys,
    # then its rows).
    with django_assert_max_num_queries(5):
        second = client.get(DASHBOARD)
    assert counts_by_state(second) == counts_by_state(first)
    assert chart_bars(second) == chart_bars(first)


def test_a_draft_logged_changes_the_administrators_counts_only(
    client,
    case_factory,
    monitor,
    other_monitor,
    admin_user,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    case_factory("submitted", created_by=other_monitor)
    client.force_login(admin_user)
    assert counts_by_state(client.get(DASHBOARD))["draft"] == 0
    client.force_login(monitor)
    client.get(DASHBOARD)

    with django_capture_on_commit_callbacks(execute=True):
        draft = case_factory(created_by=other_monitor)
    # The team's counts hold no one else's draft: still read from the cache (the user,
    # their permissions, their own drafts, what waits for them: keys, then rows).
    with django_assert_max_num_queries(5):
        assert counts_by_state(client.get(DASHBOARD))["draft"] == 0
    client.force_login(admin_user)
    assert counts_by_state(client.get(DASHBOARD))["draft"] == 1

    # Submitted, it is the team's.
    client.force_login(monitor)
    with django_capture_on_commit_callbacks(execute=True):
        factories.context_for(draft)
        workflow.submit(draft, other_monitor)
    assert counts_by_state(client.get(DASHBOARD))["submitted"] == 2


def test_an_approval_reaches_the_stakeholders_chart_at_once(
    client, case_factory, reviewer, stakeholder, django_capture_on_commit_callbacks
):
    case = case_factory("in_review", incident_start=date(2024, 1, 2))
    case_factory("approved", incident_start=date(2024, 1, 9))
    client.force_login(stakeholder)
    assert chart_bars(client.get(DASHBOARD)) == [("2024-01", 1)]

    with django_capture_on_commit_callbacks(execute=True):
        factories.corroborate(case, 2)
        workflow.approve(case, reviewer)
    assert chart_bars(client.get(DASHBOARD)) == [("2024-01", 2)]
