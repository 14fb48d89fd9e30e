"""What a stakeholder reads: their dashboard (the latest approvals within their
digest's filters, and their subscription) and an approved case's page with its
decision but without the review record (names, comments)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from digests.models import Subscription
from tests import factories
from tracker import workflow
from tracker.models import Case, IncidentType

DASHBOARD = reverse("tracker:dashboard")
SUBSCRIPTION = reverse("digests:subscription")


def approved(case_factory, days_ago=0, **fields):
    case = case_factory("approved", **fields)
    Case.objects.filter(pk=case.pk).update(
        state_changed_at=timezone.now() - timedelta(days=days_ago)
    )
    return case


def test_the_dashboard_lists_the_latest_approvals_not_the_workflow(
    client, case_factory, stakeholder
):
    older = approved(case_factory, days_ago=3, title="Rail shipment through Tumangang")
    newer = approved(case_factory, days_ago=1, title="Hwasong-11 debris in Kharkiv")
    case_factory("submitted", title="Unconfirmed depot strike")
    client.force_login(stakeholder)
    response = client.get(DASHBOARD)
    page = response.content.decode()

    assert page.index(newer.title) < page.index(older.title)
    assert "Unconfirmed depot strike" not in page
    for workflow_part in ("Cases by state", "Waiting for me", "Stale"):
        assert workflow_part not in page
    # Not subscribed: every approval, and a way to subscribe.
    assert "Recently approved</h2>" in page
    assert "You do not receive the weekly digest" in page
    assert f'href="{SUBSCRIPTION}"' in page


def test_the_dashboard_keeps_to_the_subscriptions_filters(client, case_factory, stakeholder):
    Subscription.objects.create(
        email=stakeholder.email.upper(),  # found whatever the case of the address
        incident_types=[IncidentType.BATTLEFIELD_USE],
        countries=["UA", "RU"],
    )
    in_ukraine = approved(
        case_factory, incident_type=IncidentType.BATTLEFIELD_USE, country="UA", title="Kharkiv"
    )
    approved(case_factory, incident_type=IncidentType.BATTLEFIELD_USE, country="KP", title="Rajin")
    approved(case_factory, incident_type=IncidentType.DEPOT_STRIKE, country="RU", title="Bryansk")
    client.force_login(stakeholder)
    response = client.get(DASHBOARD)
    page = response.content.decode()

    assert [case.title for case in response.context["recent"]] == [in_ukraine.title]
    assert "Recently approved within your subscription" in page
    assert "Battlefield use of transferred weapons" in page
    assert "Ukraine, Russia" in page or "Russia, Ukraine" in page
    assert "Change your subscription" in page
    assert f'href="{SUBSCRIPTION}"' in page


def test_a_paused_subscription_says_so(client, stakeholder):
    Subscription.objects.create(email=stakeholder.email, active=False)
    client.force_login(stakeholder)
    page = client.get(DASHBOARD).content.decode()
    assert "Paused: no digest is sent" in page
    assert "every type" in page and "every country" in page


def test_without_an_address_the_dashboard_says_what_is_missing(client, stakeholder):
    stakeholder.email = ""
    stakeholder.save()
    Subscription.objects.create(email="someone@example.org")
    client.force_login(stakeholder)
    page = client.get(DASHBOARD).content.decode()
    assert "Your account has no email address" in page
    assert "someone@example.org" not in page


def test_a_long_list_shows_the_latest_and_how_many(client, case_factory, stakeholder):
    cases = [approved(case_factory, days_ago=days) for days in range(22)]
    client.force_login(stakeholder)
    response = client.get(DASHBOARD)
    assert response.context["recent"][0] == cases[0]
    assert len(response.context["recent"]) == 20
    assert "The 20 approved most recently, of 22." in response.content.decode()


@pytest.mark.parametrize("subscribed", [False, True])
def test_the_dashboard_makes_as_many_queries_for_2_cases_as_for_30(
    client, case_factory, stakeholder, django_assert_max_num_queries, subscribed
):
    if subscribed:
        Subscription.objects.create(email=stakeholder.email, countries=["KP"])
    client.force_login(stakeholder)
    counts = []
    for total in (2, 30):
        while Case.objects.filter(state="approved").count() < total:
            approved(case_factory)
        with django_assert_max_num_queries(7) as queries:
            assert client.get(DASHBOARD).status_code == 200
        counts.append(len(queries))
    assert counts[0] + 1 >= counts[1]  # the count of all, once the list is full


def test_the_stakeholders_chart_counts_approved_cases(client, case_factory, stakeholder):
    approved(case_factory)
    case_factory("submitted")
    client.force_login(stakeholder)
    chart = client.get(DASHBOARD).context["chart"]
    assert [bar.count for bar in chart.bars] == [1]
    assert chart.title == "Approved cases per month of the incident"


def test_the_team_still_gets_the_workflow_dashboard(client, monitor, reviewer, admin_user):
    for user in (monitor, reviewer, admin_user):
        client.force_login(user)
        page = client.get(DASHBOARD).content.decode()
        assert "Waiting for me" in page and "Cases by state" in page
        assert "Your weekly digest" not in page


MONITOR, REVIEWER = "monitor-bob-farrow", "reviewer-alice-smith"


@pytest.fixture
def below_minimum(case_factory, add_item):
    """Approved with one independent supporting source and a justification, by people
    whose names occur nowhere else on the page."""
    case = case_factory(
        "in_review",
        created_by=factories.monitor(MONITOR),
        by_reviewer=factories.reviewer(REVIEWER),
        title="Hwasong-11 debris in Kharkiv",
    )
    add_item(case, "UN Panel of Experts")
    workflow.approve(
        case,
        factories.reviewer(REVIEWER),
        "Internal: checked with the desk officer.",
        justification="The Panel of Experts examined the debris itself.",
    )
    return case


def test_an_approved_case_shows_its_decision_without_the_review_record(
    client, below_minimum, stakeholder
):
    client.force_login(stakeholder)
    response = client.get(below_minimum.get_absolute_url())
    page = response.content.decode()

    approval = below_minimum.transitions.get(to_state="approved")
    assert f"<strong>Approved</strong> on {approval.at:%-d %B %Y}" in page
    assert "below the corroboration minimum" in page
    assert "The Panel of Experts examined the debris itself." in page
    # Nobody's name, no comment of the review.
    for private in (
        "Internal: checked with the desk officer.",
        REVIEWER,
        MONITOR,
        "Review timeline",
        "Reviewer</dt>",
        "Created by",
    ):
        assert private not in page, private
    assert response.context["transitions"] is None


def test_a_corroborated_approval_says_the_minimum_was_met(client, case_factory, stakeholder):
    case = case_factory("approved", by_reviewer=factories.reviewer("alice"))
    client.force_login(stakeholder)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Approved with the corroboration minimum of 2 independent supporting sources met" in (
        " ".join(page.split())
    )
    assert "alice" not in page
    assert "below the corroboration minimum" not in page


def test_the_team_reads_the_decision_and_the_whole_record(client, below_minimum, monitor):
    client.force_login(monitor)
    page = client.get(below_minimum.get_absolute_url()).content.decode()
    assert "<strong>Approved</strong> on" in page
    assert "Review timeline" in page
    assert "Internal: checked with the desk officer." in page
    assert REVIEWER in page and MONITOR in page


def test_the_case_page_makes_as_many_queries_for_a_stakeholder_as_before(
    client, below_minimum, stakeholder, django_assert_max_num_queries
):
    client.force_login(stakeholder)
    with django_assert_max_num_queries(12):
        client.get(below_minimum.get_absolute_url())
