"""What a digest says: counts of approved cases this week and in total within the
subscriber's filters, each case with what a reader acts on, the filters named, and an
HTML version that fits a phone."""

from datetime import date, timedelta

import css_inline
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from digests import weekly
from digests.models import Subscription
from mailer.mail import render_email
from tests.conftest import this_week_end
from tracker import workflow
from tracker.models import Case, DatePrecision, IncidentType, Transition

pytestmark = pytest.mark.django_db


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


def approve_below_minimum(case, reviewer):
    """Approve a case in review with no counted supporting source, as the workflow
    allows only with a justification."""
    workflow.approve(case, reviewer, justification="The photographs speak for themselves.")
    return case


def test_counts_are_of_approved_cases_this_week_and_in_total_within_the_filters(
    mailbox, case_factory, reviewer, admin_user
):
    in_ukraine = {"country": "UA", "incident_type": IncidentType.BATTLEFIELD_USE}
    case_factory("approved", by_reviewer=reviewer, title="Kharkiv debris", **in_ukraine)
    approve_below_minimum(
        case_factory("in_review", by_reviewer=reviewer, title="Zaporizhzhia field", **in_ukraine),
        reviewer,
    )
    earlier = case_factory("approved", by_reviewer=reviewer, title="Bryansk depot", country="RU")
    Transition.objects.filter(case=earlier).update(at=timezone.now() - timedelta(days=30))
    # Outside the filters, or not approved: in no count.
    case_factory("approved", by_reviewer=reviewer, title="Rajin port", country="KP")
    for state in ("submitted", "in_review", "changes_requested", "rejected"):
        case_factory(state, by_reviewer=reviewer, title=f"A case {state}", **in_ukraine)
    reopened = case_factory("approved", by_reviewer=reviewer, title="Reopened", **in_ukraine)
    workflow.reopen(reopened, admin_user, "A source was retracted.")
    subscription = Subscription.objects.create(email="desk@example.org", countries=["UA", "RU"])

    weekly.deliver_digest(subscription, this_week_end())

    [message] = mailbox.messages
    text, html = text_of(message), html_of(message)
    assert message["Subject"].endswith(": 2 newly approved cases")
    assert "Newly approved this week: 2" in text
    assert "Approved in total: 3" in text
    assert ">2</span> newly approved this week" in html
    assert ">3</span> approved in total" in html
    week_start = this_week_end() - timedelta(days=7)
    assert f"Of the 3 approved in total, 1 was approved before {week_start:%-d %B %Y}." in text
    for body in (text, html):
        assert "Kharkiv debris" in body and "Zaporizhzhia field" in body
        assert "Bryansk depot" not in body, "approved before the week: counted, not listed"
        for absent in ("Rajin port", "A case", "Reopened", "Rejected", "In review"):
            assert absent not in body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_counts_read_the_approved_cases_index_alone(case_factory, reviewer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import case_table_plan

    case_factory("approved", by_reviewer=reviewer, country="UA")
    case_factory("submitted", country="UA")
    subscription = Subscription.objects.create(email="desk@example.org", countries=["UA"])
    with CaptureQueriesContext(connection) as counted:
        assert weekly.approved_counts(subscription, this_week_end())["total"] == 1
    # They count every approved case of the archive, for each filter set of each run:
    # from the rows themselves, a second a filter set at a million cases.
    plan = case_table_plan(counted.captured_queries[0]["sql"])
    assert "Index Only Scan using case_approved_idx" in plan, plan


def test_each_case_shows_a_short_summary_its_date_place_type_and_a_mark_below_the_minimum(
    mailbox, case_factory, reviewer
):
    long_summary = " ".join(f"word{n}" for n in range(80))
    below = approve_below_minimum(
        case_factory(
            "in_review",
            by_reviewer=reviewer,
            title="Shells at Tikhoretsk",
            summary=long_summary,
            incident_start=date(2024, 10, 1),
            date_precision=DatePrecision.MONTH,
            incident_type=IncidentType.MUNITIONS_SHIPMENT,
            place_name="Tikhoretsk",
            country="RU",
        ),
        reviewer,
    )
    corroborated = case_factory(
        "approved",
        by_reviewer=reviewer,
        title="Debris in Kharkiv",
        summary="Debris of a DPRK missile.\nFound in Kharkiv.",
        incident_start=date(2024, 1, 2),
        incident_type=IncidentType.BATTLEFIELD_USE,
        place_name="Kharkiv",
        country="UA",
    )
    subscription = Subscription.objects.create(email="desk@example.org")

    weekly.deliver_digest(subscription, this_week_end())

    [message] = mailbox.messages
    text, html = text_of(message), html_of(message)
    short = " ".join(f"word{n}" for n in range(weekly.SUMMARY_WORDS)) + " …"
    for body in (text, html):
        assert short in body and "word40" not in body
        assert "Debris of a DPRK missile. Found in Kharkiv." in body
        assert "October 2024" in body and "2 January 2024" in body
        assert "Tikhoretsk (Russia)" in body and "Kharkiv (Ukraine)" in body
        assert "Shipment of munitions" in body and "Battlefield use of transferred weapons" in body
        assert body.count("Approved below the corroboration minimum") == 1
    # The mark belongs to the case approved below the minimum.
    marked = text.split(below.reference)[1].split(corroborated.reference)[0]
    assert "Approved below the corroboration minimum" in marked


def test_a_summary_without_spaces_is_cut_too():
    assert len(weekly.short_summary("x" * 1000)) == weekly.SUMMARY_CHARACTERS
    assert weekly.short_summary("Short and whole.") == "Short and whole."


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({}, "Countries: all countries. Incident types: all incident types."),
        (
            {"countries": ["UA", "RU"], "incident_types": ["depot_strike"]},
            "Countries: Russia, Ukraine. Incident types: "
            "Strike on a depot of transferred materiel.",
        ),
    ],
)
def test_the_digest_names_the_subscribers_filters(mailbox, filters, named):
    subscription = Subscription.objects.create(email="desk@example.org", **filters)

    weekly.deliver_digest(subscription, this_week_end())

    [message] = mailbox.messages
    assert named in text_of(message)
    assert named.replace("Countries: ", "Countries: <strong>").split(".")[0] in html_of(message)


def test_the_html_digest_stacks_its_cases_instead_of_a_wide_table(mailbox, case_factory, reviewer):
    case_factory("approved", by_reviewer=reviewer)
    weekly.deliver_digest(Subscription.objects.create(email="desk@example.org"), this_week_end())

    html = html_of(mailbox.messages[0])

    assert "<table" not in html
    assert "max-width: 640px" in html and "width: 100%" in html
    assert "<style" not in html, "the CSS is inlined for mail clients"


def test_on_the_demo_the_first_digest_explains_cases_approved_after_its_week(
    mailbox, settings, capsys
):
    """What a new user does: load the demo, approve three cases in the admin, send the
    digests. The approvals fall on the day the week ends, so this digest lists none and
    says why; next week's lists them."""
    settings.DEBUG = True
    call_command("load_demo")
    reviewer = get_user_model().objects.get(username="reviewer2")
    for case in Case.objects.filter(state__in=["submitted", "in_review"]).order_by("pk")[:3]:
        if case.state == "submitted":
            workflow.start_review(case, reviewer)
        workflow.approve(case, reviewer, justification="Reported by a government source.")
    stakeholder = Subscription.objects.get(email="stakeholder@demo.invalid")
    today = timezone.localdate()

    weekly.deliver_digest(stakeholder, today)
    weekly.deliver_digest(stakeholder, today + timedelta(days=7))

    first, second = mailbox.messages
    text = text_of(first)
    assert "Newly approved this week: 0" in text and "Approved in total: 3" in text
    assert (
        f"Of the 3 approved in total, 3 were approved on or after {today:%-d %B %Y}, "
        "when this week had ended (a later digest lists them)." in text
    )
    assert "Countries: Russia, Ukraine. Incident types: all incident types." in text
    assert "Newly approved this week: 3" in text_of(second)
    assert "Of the 3 approved in total" not in text_of(second), "nothing left to explain"


def test_the_preview_is_the_emails_own_html_before_its_css_is_inlined(
    admin_client, case_factory, reviewer
):
    case_factory("approved", by_reviewer=reviewer, title="Debris in Kharkiv")
    subscription = Subscription.objects.create(email="desk@example.org")

    response = admin_client.get(
        f"/digests/preview/{subscription.pk}/", {"period_end": this_week_end().isoformat()}
    )

    html = response.content.decode()
    context = weekly.digest_context(subscription, this_week_end(), preview=True)
    assert css_inline.inline(html) == render_email("digest", context)[2]
    assert 'style="' not in html, "the site's CSP refuses style attributes"
    [nonce] = [part for part in response["Content-Security-Policy"].split("'") if "nonce-" in part]
    assert f'<style nonce="{nonce.removeprefix("nonce-")}">' in html


def test_the_unsubscribe_page_is_in_the_sites_layout_without_inline_styles(client):
    subscription = Subscription.objects.create(email="desk@example.org")

    response = client.get(f"/digests/unsubscribe/{subscription.unsubscribe_token()}/")

    page = response.content.decode()
    assert "css/tracker.css" in page
    assert "style=" not in page and "<style" not in page
    assert "'nonce-" not in response["Content-Security-Policy"]
