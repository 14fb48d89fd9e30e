"""The weekly digest: approved cases only, one per subscriber and period, filters,
unsubscribing, SMTP retries, and the staff preview."""

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from digests import weekly
from digests.models import DigestDelivery, Subscription
from digests.tasks import enqueue_digests
from mailer.mail import DeliveryDeferred
from tests import factories
from tests.concurrency import at_once
from tests.conftest import this_week_end, wait_until
from tracker import workflow
from tracker.models import IncidentType, Transition

pytestmark = pytest.mark.django_db
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


def delivery_of(subscription, period_end=None):
    return DigestDelivery.objects.get(
        subscription=subscription, period_end=period_end or this_week_end()
    )


def wait_for_delivery(subscription, status):
    # The job records the outcome just after the SMTP server answered.
    wait_until(
        lambda: DigestDelivery.objects.filter(subscription=subscription, status=status).exists(),
        what=f"the digest to be {status}",
    )


@pytest.fixture
def approved_case(case_factory, reviewer):
    return case_factory("approved", by_reviewer=reviewer, title="Hwasong-11 debris in Kharkiv")


@pytest.fixture
def cases_not_for_stakeholders(case_factory, reviewer, admin_user):
    """Cases in every other state, and one approved before the week."""
    cases = {
        state: case_factory(state, by_reviewer=reviewer, title=f"A case {state}")
        for state in ("draft", "submitted", "in_review", "changes_requested", "rejected")
    }
    reopened = case_factory("approved", by_reviewer=reviewer, title="Approved, then reopened")
    workflow.reopen(reopened, admin_user, "A source was retracted.")
    earlier = case_factory("approved", by_reviewer=reviewer, title="Approved a month ago")
    Transition.objects.filter(case=earlier).update(at=timezone.now() - timedelta(days=30))
    return [*cases.values(), reopened, earlier]


@transactional
def test_each_subscriber_gets_one_digest_of_approved_cases_and_a_second_run_none(
    celery_worker, mailbox, approved_case, cases_not_for_stakeholders, capsys
):
    committee = Subscription.objects.create(email="committee@example.org")
    analyst = Subscription.objects.create(email="analyst@example.org")
    Subscription.objects.create(email="former@example.org", active=False)

    call_command("send_digests", "--period-end", this_week_end().isoformat())

    assert "Queued 2 digest(s)" in capsys.readouterr().out
    sent = mailbox.wait_for(2, subject="Weekly digest")
    assert sorted(str(message["To"]) for message in sent) == [analyst.email, committee.email]
    for message in sent:
        assert message["Subject"].endswith("1 newly approved case")
        for body in (text_of(message), html_of(message)):
            assert approved_case.reference in body
            assert "Hwasong-11 debris in Kharkiv" in body
            assert approved_case.incident_period in body
            assert "http://localhost:8000/digests/case/" in body
            assert f"/cases/{approved_case.pk}/" not in body, "no link that needs a login"
            for case in cases_not_for_stakeholders:
                assert case.title not in body
                assert case.reference not in body
            # Approved work only: nothing of what is under review or was rejected.
            for state in ("Submitted", "In review", "Rejected", "backlog", "waiting"):
                assert state not in body
        text = text_of(message)
        assert "Corroboration: 2 independent supporting sources, 0 refuting" in text
        assert "Newly approved this week: 1" in text and "Approved in total: 2" in text
        assert "Of the 2 approved in total, 1 was approved before" in text
    for subscription in (committee, analyst):
        wait_for_delivery(subscription, "sent")
        delivery = delivery_of(subscription)
        assert (delivery.status, delivery.attempts) == ("sent", 1)
        [message] = mailbox.to(subscription.email)
        assert delivery.message_id == message["Message-ID"]

    call_command("send_digests", "--period-end", this_week_end().isoformat())

    assert "Queued 0 digest(s)" in capsys.readouterr().out
    # A job for the same period that slipped through anyway sends nothing either.
    assert weekly.deliver_digest(committee, this_week_end()).status == "sent"
    assert len(mailbox.wait_for(2, subject="Weekly digest")) == 2
    assert DigestDelivery.objects.count() == 2


@transactional
def test_two_workers_racing_for_one_digest_send_it_once(mailbox, approved_case):
    subscription = Subscription.objects.create(email="committee@example.org")

    def deliver():
        try:
            return weekly.deliver_digest(subscription, this_week_end()).status
        except DeliveryDeferred:
            # The loser's task retries later and then finds the digest sent.
            return "told to try later"

    results = [outcome.get("result") for outcome in at_once(deliver, deliver)]
    assert "sent" in results and None not in results
    assert len(mailbox.wait_for(1, subject="Weekly digest")) == 1
    delivery = delivery_of(subscription)
    assert (delivery.status, delivery.attempts, delivery.unknown_outcomes) == ("sent", 1, 0)


@transactional
def test_the_unsubscribe_link_in_the_digest_stops_later_digests(celery_worker, mailbox, client):
    subscription = Subscription.objects.create(email="committee@example.org")
    enqueue_digests(this_week_end())
    [message] = mailbox.wait_for(1, subject="Weekly digest")
    wait_for_delivery(subscription, "sent")
    assert "No cases were newly approved this week." in text_of(message)

    link = re.search(r"Unsubscribe: (\S+)", text_of(message)).group(1)
    assert message["List-Unsubscribe"] == f"<{link}>"
    raw_headers = dict(message.raw_items())
    assert raw_headers["List-Unsubscribe"] == f"<{link}>", "a plain URL, not an encoded word"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{link}"' in html_of(message)
    path = urlsplit(link).path

    confirm = client.get(path)
    assert confirm.status_code == 200
    assert b"Unsubscribe from the weekly digest?" in confirm.content
    subscription.refresh_from_db()
    assert subscription.active, "opening the link alone (or a link scanner) changes nothing"

    done = client.post(path)
    assert b"You are unsubscribed" in done.content
    subscription.refresh_from_db()
    assert not subscription.active

    assert enqueue_digests(this_week_end() + timedelta(days=7)) == 0
    assert weekly.deliver_digest(subscription, this_week_end() + timedelta(days=7)) is None
    assert len(mailbox.messages) == 1


def test_one_click_unsubscribe_from_the_mail_client_works_without_login(client):
    subscription = Subscription.objects.create(email="committee@example.org")
    path = urlsplit(subscription.get_unsubscribe_url()).path

    response = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    subscription.refresh_from_db()
    assert not subscription.active


def test_a_tampered_unsubscribe_link_is_refused(client):
    subscription = Subscription.objects.create(email="committee@example.org")
    path = urlsplit(subscription.get_unsubscribe_url()).path

    response = client.post(path[:-3] + "xx/")

    assert response.status_code == 404
    assert b"not valid" in response.content
    subscription.refresh_from_db()
    assert subscription.active


def test_a_subscriber_gets_only_the_incident_types_and_countries_they_chose(
    mailbox, case_factory, reviewer
):
    battlefield = IncidentType.BATTLEFIELD_USE
    wanted = case_factory(
        "approved", by_reviewer=reviewer, incident_type=battlefield, country="UA", title="Kharkiv"
    )
    case_factory(
        "approved", by_reviewer=reviewer, incident_type=battlefield, country="RU", title="Bryansk"
    )
    case_factory("approved", by_reviewer=reviewer, country="UA", title="Shells to Ukraine")
    analyst = Subscription.objects.create(
        email="analyst@example.org", incident_types=[battlefield], countries=["UA"]
    )

    weekly.deliver_digest(analyst, this_week_end())

    [message] = mailbox.messages
    text = text_of(message)
    assert wanted.reference in text and "Kharkiv" in text
    assert "Bryansk" not in text and "Shells to Ukraine" not in text
    assert "Newly approved this week: 1" in text and "Approved in total: 1" in text
    assert "Countries: Ukraine. Incident types: Battlefield use of transferred weapons." in text


@transactional
def test_a_temporary_smtp_failure_is_retried_until_delivered(celery_worker, mailbox, approved_case):
    subscription = Subscription.objects.create(email="committee@example.org")
    mailbox.refuse("451 4.7.1 Greylisted, please try again later", 2, to=subscription.email)

    enqueue_digests(this_week_end())

    wait_for_delivery(subscription, "sent")
    delivery = delivery_of(subscription)
    assert delivery.attempts == 3
    assert mailbox.refusals == 2
    [message] = mailbox.wait_for(1, subject="Weekly digest")
    assert delivery.message_id == message["Message-ID"]


@transactional
def test_a_permanent_smtp_rejection_is_recorded_and_not_retried(
    celery_worker, mailbox, approved_case, settings
):
    subscription = Subscription.objects.create(email="nobody@example.org")
    mailbox.refuse("550 5.1.1 No such mailbox", 10, to=subscription.email)

    enqueue_digests(this_week_end())

    wait_for_delivery(subscription, "failed")
    # Longer than the first retry could possibly wait (tests back off 1-2 s).
    time.sleep(2 * settings.MAIL_RETRY_BACKOFF + 0.5)
    delivery = delivery_of(subscription)
    assert delivery.attempts == 1
    assert "550" in delivery.last_error and "No such mailbox" in delivery.last_error
    assert mailbox.refusals == 1
    assert enqueue_digests(this_week_end()) == 0, "a refused digest is not queued again"


def test_a_digest_costs_the_same_queries_however_many_cases_it_lists(case_factory, reviewer):
    subscription = Subscription.objects.create(email="committee@example.org")

    def digest_queries():
        cache.clear()  # the state counts are shared between digests for minutes
        with CaptureQueriesContext(connection) as queries:
            weekly.digest_message(subscription, this_week_end())
        return len(queries)

    case_factory("approved", by_reviewer=reviewer)
    few = digest_queries()
    for _ in range(5):
        case_factory("approved", by_reviewer=reviewer)
    assert digest_queries() == few


@pytest.fixture
def subscriptions_viewer(db):
    """A staff member allowed to see subscriptions (no role has it by default)."""
    user = factories.UserFactory(username="desk-officer")
    user.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    return user


def test_who_may_see_subscriptions_previews_any_digest_for_any_week(
    client, subscriptions_viewer, approved_case, cases_not_for_stakeholders
):
    subscription = Subscription.objects.create(email="committee@example.org")
    client.force_login(subscriptions_viewer)
    url = f"/digests/preview/{subscription.pk}/"

    html = client.get(url, {"period_end": this_week_end().isoformat()})
    text = client.get(url, {"period_end": this_week_end().isoformat(), "format": "text"})
    week_before = client.get(url, {"period_end": (this_week_end() - timedelta(days=7)).isoformat()})

    assert html.status_code == 200
    assert b"Hwasong-11 debris in Kharkiv" in html.content
    assert b"A case submitted" not in html.content
    assert text["Content-Type"].startswith("text/plain")
    assert approved_case.reference in text.content.decode()
    assert b"No cases were newly approved this week." in week_before.content
    assert not DigestDelivery.objects.exists(), "a preview sends nothing"


def test_a_preview_never_shows_the_subscribers_unsubscribe_link(admin_client):
    subscription = Subscription.objects.create(email="committee@example.org")
    url = f"/digests/preview/{subscription.pk}/"
    working_link = subscription.get_unsubscribe_url()

    html = admin_client.get(url).content.decode()
    text = admin_client.get(url, {"format": "text"}).content.decode()

    for preview in (html, text):
        assert working_link not in preview
        assert subscription.unsubscribe_token() not in preview
        assert "/digests/unsubscribe/" not in preview
    assert 'href="#unsubscribe-link-not-shown-in-previews"' in html
    assert "Unsubscribe: #unsubscribe-link-not-shown-in-previews" in text


@pytest.mark.parametrize(
    ("query", "explanation"),
    [
        ({"period_end": "14/10/2024"}, "Write the date as YYYY-MM-DD"),
        ({"period_end": "0001-01-01"}, "greater than or equal to 0001-01-09"),
        ({"period_end": "9999-12-31"}, "less than or equal to 9999-12-30"),
        ({"format": "pdf"}, "pdf is not one of the available choices"),
    ],
)
def test_a_preview_with_a_bad_query_explains_what_it_expects(admin_client, query, explanation):
    subscription = Subscription.objects.create(email="committee@example.org")

    response = admin_client.get(f"/digests/preview/{subscription.pk}/", query)

    assert response.status_code == 400
    assert explanation in response.content.decode()


def test_only_who_may_see_subscriptions_may_preview(client, reviewer, stakeholder, admin_user):
    subscription = Subscription.objects.create(email="committee@example.org")
    url = f"/digests/preview/{subscription.pk}/"

    assert client.get(url).status_code == 403
    for user in (stakeholder, reviewer):
        client.force_login(user)
        assert client.get(url).status_code == 403, f"{user} is not allowed"
    client.force_login(admin_user)
    assert client.get(url).status_code == 200


def test_subscriptions_are_managed_in_the_admin_with_their_filters(admin_client):
    response = admin_client.post(
        "/admin/digests/subscription/add/",
        {
            "email": "analyst@example.org",
            "active": "on",
            "incident_types": ["battlefield_use", "depot_strike"],
            "countries": ["UA", "RU"],
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
            "case_link_views-TOTAL_FORMS": "0",
            "case_link_views-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert subscription.incident_types == ["battlefield_use", "depot_strike"]
    assert sorted(country.code for country in subscription.countries) == ["RU", "UA"]
    listing = admin_client.get("/admin/digests/subscription/")
    assert f"/digests/preview/{subscription.pk}/" in listing.content.decode()
    assert (
        "Battlefield use of transferred weapons, Strike on a depot of transferred materiel; "
        "Russia, Ukraine" in listing.content.decode()
    )


def test_digests_with_the_same_filters_share_their_listing_but_not_other_filters(
    case_factory, reviewer
):
    case_factory("approved", by_reviewer=reviewer, incident_type="battlefield_use")
    committee = Subscription.objects.create(email="committee@example.org")
    council = Subscription.objects.create(email="council@example.org")
    analyst = Subscription.objects.create(
        email="analyst@example.org", incident_types=["depot_strike"]
    )

    def digest_queries(subscription):
        with CaptureQueriesContext(connection) as queries:
            context = weekly.digest_context(subscription, this_week_end())
        return len(queries), context["counts"]["this_week"]

    first, listed = digest_queries(committee)
    assert digest_queries(council) == (0, listed) == (0, 1)
    queries, analyst_listed = digest_queries(analyst)
    assert queries == first and analyst_listed == 0


def test_a_case_reopened_during_a_run_is_not_in_the_later_digests_of_the_run(
    approved_case, admin_user, django_capture_on_commit_callbacks
):
    # The first digest of a filter set keeps its listing for the others of the run; a
    # case reopened meanwhile (approved by mistake, a source retracted) is no longer a
    # finding, and the digests composed after must not carry its title and summary.
    committee = Subscription.objects.create(email="committee@example.org")
    council = Subscription.objects.create(email="council@example.org")
    first = weekly.digest_context(committee, this_week_end())
    assert [row["case_id"] for row in first["cases"]] == [approved_case.pk]
    weekly.composed_digest(committee, this_week_end())

    with django_capture_on_commit_callbacks(execute=True):
        workflow.reopen(approved_case, admin_user, "A source was retracted.")

    later = weekly.digest_context(council, this_week_end())
    assert (later["cases"], later["counts"]["this_week"], later["counts"]["total"]) == ([], 0, 0)
    composed = weekly.composed_digest(council, this_week_end())
    assert composed.case_ids == ()
    assert approved_case.title not in composed.text.fill(
        {"email": council.email, "unsubscribe": "-"}
    )


@pytest.fixture
def cache_down(settings):
    # Nothing listens on port 1: every cache call fails to connect.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }


@transactional
def test_a_digest_is_sent_while_the_cache_is_down(
    celery_worker, mailbox, approved_case, cache_down, caplog
):
    subscription = Subscription.objects.create(email="committee@example.org")

    enqueue_digests(this_week_end())

    [message] = mailbox.wait_for(1, subject="Weekly digest")
    assert approved_case.reference in text_of(message)
    wait_for_delivery(subscription, "sent")
    assert delivery_of(subscription).attempts == 1
    assert "Digest cache unavailable" in caplog.text


def test_a_digest_the_smtp_server_cannot_take_stays_pending_with_its_attempt_on_record(
    approved_case, settings
):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 5},
        }
    }
    subscription = Subscription.objects.create(email="committee@example.org")

    with pytest.raises(DeliveryDeferred):
        weekly.deliver_digest(subscription, this_week_end())

    delivery = delivery_of(subscription)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_attempt_at is not None
    assert "ConnectionRefusedError" in delivery.last_error


def test_a_digest_sent_again_after_its_worker_died_carries_the_same_message_id(
    mailbox, approved_case, settings
):
    subscription = Subscription.objects.create(email="committee@example.org")
    weekly.deliver_digest(subscription, this_week_end())
    # What a worker killed after the server took the message leaves behind: the
    # attempt claimed, its outcome never written, and it is older than a task may run.
    DigestDelivery.objects.update(
        status="sending",
        last_attempt_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1),
    )

    delivery = weekly.deliver_digest(subscription, this_week_end())

    first, second = mailbox.wait_for(2, subject="Weekly digest")
    assert first["Message-ID"] == second["Message-ID"] == delivery.message_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.unknown_outcomes) == ("sent", 2, 1)


def test_a_digest_another_worker_is_sending_is_not_sent_again(mailbox, approved_case):
    subscription = Subscription.objects.create(email="committee@example.org")
    DigestDelivery.objects.create(
        subscription=subscription,
        period_end=this_week_end(),
        status="sending",
        attempts=1,
        last_attempt_at=timezone.now(),
    )

    with pytest.raises(DeliveryDeferred, match="attempt 1 is under way"):
        weekly.deliver_digest(subscription, this_week_end())

    assert mailbox.messages == []
    delivery = delivery_of(subscription)
    assert (delivery.status, delivery.attempts, delivery.unknown_outcomes) == ("sending", 1, 0)
