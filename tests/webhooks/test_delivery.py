"""Webhooks against a real HTTP server: signed, retried, recorded, once per event and
endpoint, and stopped after repeated failures. The deliveries here are made in the
test's own process (``delivery.deliver``, what the task runs); test_worker.py goes
through Celery."""

import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from mailer.delivery import DeliveryDeferred
from tests import factories
from tracker import workflow
from tracker.models import WeaponSystem
from webhooks import delivery, signing
from webhooks.models import DisablingNotice, Endpoint, Event, WebhookDelivery

from .conftest import SECRET

pytestmark = pytest.mark.django_db

REJECTION = "Two of the photographs show a different missile; not substantiated."
JUSTIFICATION = "The debris markings match the Panel of Experts' report."


def deliver_all():
    """Each pending delivery, once, as its job would; returns the rows after."""
    pending = WebhookDelivery.objects.filter(status="pending").order_by("pk")
    for row in pending.select_related("endpoint"):
        try:
            delivery.deliver(row)
        except DeliveryDeferred:
            pass
    return list(WebhookDelivery.objects.order_by("pk"))


def test_an_approval_arrives_signed_with_the_case_s_public_fields(
    endpoint, receiver, case_factory, reviewer
):
    Endpoint.objects.filter(pk=endpoint.pk).update(events=[Event.APPROVED])
    case = case_factory("in_review", by_reviewer=reviewer, reported_quantity="about 20")
    case.weapon_systems.add(
        WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")
    )
    transition = workflow.approve(case, reviewer, comment="Checked.", justification=JUSTIFICATION)

    [row] = deliver_all()

    [received] = receiver.received
    assert received.signed
    assert received.headers["Tracker-Event"] == "case.approved"
    assert received.delivery_id == str(row.delivery_id)
    assert received.headers["Content-Type"] == "application/json"
    assert received.body == row.body.encode()
    payload = received.payload
    assert payload["event"] == "case.approved"
    assert payload["occurred_at"] == transition.at.isoformat()
    assert payload["case"] == {
        "reference": case.reference,
        "state": "approved",
        "url": f"http://localhost:8000/cases/{case.pk}/",
        "title": case.title,
        "summary": case.summary,
        "incident_type": "munitions_shipment",
        "incident_start": "2024-02-27",
        "incident_end": None,
        "date_precision": "day",
        "place_name": "Rajin",
        "country": "KP",
        "latitude": None,
        "longitude": None,
        "supplier_country": "KP",
        "recipient_country": "RU",
        "weapon_systems": ["Hwasong-11 (KN-23/KN-24) ballistic missile"],
        "sanctions_provisions": [],
        "reported_quantity": "about 20",
    }
    assert (row.status, row.attempts, row.response_status) == ("sent", 1, 200)
    assert row.response_excerpt == '{"status": 200}'
    assert row.sent_at is not None


def test_no_event_names_who_acted_or_carries_a_reviewer_s_words(
    endpoint, receiver, case_factory, reviewer, admin_user
):
    rejected = case_factory("in_review", by_reviewer=reviewer)
    workflow.reject(rejected, reviewer, REJECTION)
    approved = case_factory("in_review", by_reviewer=reviewer)
    workflow.approve(approved, reviewer, comment="Fine by me.", justification=JUSTIFICATION)
    deliver_all()
    workflow.reopen(approved, admin_user, "The approval was premature.")

    deliver_all()

    events = [r.payload for r in receiver.received]
    assert [e["event"] for e in events] == [
        "case.submitted",
        "case.rejected",
        "case.submitted",
        "case.approved",
        "case.reopened",
    ]
    for event in events:
        text = json.dumps(event)
        for secret in (reviewer.username, "monitor", "admin", REJECTION, "Fine by me",
                       JUSTIFICATION, "premature"):  # fmt: skip
            assert secret not in text
    not_approved = [e for e in events if e["event"] != "case.approved"]
    assert all(set(e["case"]) == {"reference", "state"} for e in not_approved)
    assert [e["case"]["state"] for e in not_approved] == [
        "submitted",
        "rejected",
        "submitted",
        "draft",
    ]
    assert rejected.title not in json.dumps(not_approved)


def test_an_approval_not_yet_delivered_when_the_case_is_reopened_is_withheld(
    endpoint, receiver, case_factory, reviewer, admin_user
):
    Endpoint.objects.filter(pk=endpoint.pk).update(events=[Event.APPROVED, Event.REOPENED])
    case = case_factory("in_review", by_reviewer=reviewer)
    factories.corroborate(case)
    receiver.answer(500)
    workflow.approve(case, reviewer)
    approval = WebhookDelivery.objects.select_related("endpoint").get()
    with pytest.raises(DeliveryDeferred):
        delivery.deliver(approval)  # the partner's server is down for a while

    workflow.reopen(case, admin_user, "Two of the sources were one.")
    rows = deliver_all()

    # The retry does not carry the title and summary of a case no longer approved; the
    # partner hears of its reopening.
    assert [(r.event, r.status) for r in rows] == [
        ("case.approved", "failed"),
        ("case.reopened", "sent"),
    ]
    assert rows[0].last_error.startswith("Not sent: the case was reopened before this approval")
    assert [r.payload["event"] for r in receiver.received] == ["case.approved", "case.reopened"]
    assert receiver.received[0].headers["Tracker-Delivery"] == str(rows[0].delivery_id)
    assert case.title not in receiver.received[1].body.decode()
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0

    # Approved again, the new approval is delivered (the case as it stands now).
    case.refresh_from_db()
    for step in ("submit", "start_review"):
        workflow.perform(case, step, case.created_by if step == "submit" else reviewer)
        case.refresh_from_db()
    workflow.approve(case, reviewer)
    deliver_all()
    assert [r.payload["event"] for r in receiver.received][-1] == "case.approved"
    assert WebhookDelivery.objects.filter(event="case.approved", status="sent").count() == 1


def test_an_endpoint_receives_only_the_events_it_asked_for(receiver, case_factory, reviewer):
    approvals = Endpoint.objects.create(
        name="Approvals", url=receiver.url, secret=SECRET, events=[Event.APPROVED]
    )
    Endpoint.objects.create(
        name="Switched off", url=receiver.url, secret=SECRET, events=list(Event), active=False
    )
    case = case_factory("in_review", by_reviewer=reviewer)
    workflow.reject(case, reviewer, REJECTION)
    assert WebhookDelivery.objects.count() == 0

    other = case_factory("approved", by_reviewer=reviewer)

    [row] = WebhookDelivery.objects.all()
    assert (row.endpoint, row.event, row.transition.case) == (approvals, "case.approved", other)


def test_a_transition_rolled_back_opens_no_delivery(endpoint, case_factory, reviewer):
    case = case_factory("in_review", by_reviewer=reviewer)
    with pytest.raises(RuntimeError), transaction.atomic():
        workflow.reject(case, reviewer, REJECTION)
        assert WebhookDelivery.objects.filter(event="case.rejected").count() == 1
        raise RuntimeError("the request failed after the transition")
    assert not WebhookDelivery.objects.filter(event="case.rejected").exists()


def test_a_500_is_retried_and_the_second_attempt_carries_the_same_delivery_id(
    endpoint, receiver, case_factory
):
    receiver.answer(500)
    case_factory("submitted")
    row = WebhookDelivery.objects.select_related("endpoint").get()

    with pytest.raises(DeliveryDeferred, match="Answered 500"):
        delivery.deliver(row)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_status) == ("pending", 1, 500)
    assert row.last_error == "Answered 500"
    assert row.response_excerpt == '{"status": 500}'

    delivery.deliver(row)

    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_status, row.last_error) == ("sent", 2, 200, "")
    first, second = receiver.received
    assert first.delivery_id == second.delivery_id == str(row.delivery_id)
    assert first.body == second.body
    assert first.signed and second.signed
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_an_endpoint_that_does_not_answer_in_time_is_tried_again_later(
    endpoint, receiver, case_factory, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.stall(3)
    case_factory("submitted")
    row = WebhookDelivery.objects.select_related("endpoint").get()

    started = time.monotonic()
    with pytest.raises(DeliveryDeferred, match="No answer within 1 s"):
        delivery.deliver(row)
    assert time.monotonic() - started < 2.5

    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_status) == ("pending", 1, None)


def test_a_redirect_is_not_followed_and_counts_as_a_failure(endpoint, receiver, case_factory):
    receiver.answer(302)
    case_factory("submitted")
    row = WebhookDelivery.objects.select_related("endpoint").get()
    with pytest.raises(DeliveryDeferred, match="Answered 302"):
        delivery.deliver(row)
    assert len(receiver.received) == 1


def test_a_delivery_is_failed_when_its_retries_are_spent(
    endpoint, receiver, case_factory, settings
):
    settings.WEBHOOK_MAX_RETRIES = 2
    receiver.answer(503, times=10)
    case_factory("submitted")
    row = WebhookDelivery.objects.select_related("endpoint").get()
    for _ in range(2):
        with pytest.raises(DeliveryDeferred):
            delivery.deliver(row)

    delivery.deliver(row)
    delivery.deliver(row)  # a late copy of the job: nothing more is sent

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error == "Answered 503; given up after 3 attempt(s)"
    assert len(receiver.received) == 3
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.active) == (1, True)


def test_each_event_is_delivered_once_per_endpoint_however_often_its_job_runs(
    endpoint, receiver, case_factory
):
    second = Endpoint.objects.create(
        name="Second partner", url=receiver.url, secret=SECRET, events=[Event.SUBMITTED]
    )
    case_factory("submitted")
    rows = list(WebhookDelivery.objects.select_related("endpoint"))
    assert {row.endpoint for row in rows} == {endpoint, second}

    for _ in range(3):  # the job, a redelivery after a lost acknowledgement, the sweep
        for row in rows:
            delivery.deliver(row)

    assert len(receiver.received) == 2
    assert {r.delivery_id for r in receiver.received} == {str(row.delivery_id) for row in rows}
    assert all(r.signed for r in receiver.received)
    assert WebhookDelivery.objects.filter(status="sent", attempts=1).count() == 2


def test_a_second_worker_waits_while_an_attempt_is_under_way(endpoint, receiver, case_factory):
    case_factory("submitted")
    row = WebhookDelivery.objects.select_related("endpoint").get()
    WebhookDelivery.objects.filter(pk=row.pk).update(
        status="sending", attempts=1, last_attempt_at=timezone.now()
    )
    with pytest.raises(DeliveryDeferred, match="attempt 1 is under way"):
        delivery.deliver(row)
    assert receiver.received == []


def test_an_attempt_whose_worker_died_is_counted_and_sent_again_with_the_same_id(
    endpoint, receiver, case_factory, settings
):
    case_factory("submitted")
    row = WebhookDelivery.objects.select_related("endpoint").get()
    died = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    WebhookDelivery.objects.filter(pk=row.pk).update(
        status="sending", attempts=1, last_attempt_at=died
    )

    delivery.deliver(row)

    row.refresh_from_db()
    assert (row.status, row.attempts, row.unknown_outcomes) == ("sent", 2, 1)
    [received] = receiver.received
    assert received.delivery_id == str(row.delivery_id)


def test_the_signature_is_over_the_time_and_the_body():
    body = b'{"event": "case.approved"}'
    value = signing.header("secret", 1_700_000_000, body)
    assert value == f"t=1700000000,v1={signing.signature('secret', 1_700_000_000, body)}"
    assert signing.verify("secret", value, body, now=1_700_000_100)
    assert not signing.verify("other secret", value, body, now=1_700_000_100)
    assert not signing.verify("secret", value, body + b" ", now=1_700_000_100)
    # A copy replayed later than the tolerance.
    assert not signing.verify("secret", value, body, now=1_700_000_000 + 301)
    assert not signing.verify("secret", "t=soon,v1=00", body, now=1_700_000_000)


def test_the_readme_s_verification_refuses_a_forged_or_stale_delivery(receiver):
    body = b'{"event": "case.approved"}'
    now = int(time.time())
    assert receiver.verify(SECRET, signing.header(SECRET, now, body), body)
    assert not receiver.verify(SECRET, signing.header("guessed", now, body), body)
    assert not receiver.verify(SECRET, signing.header(SECRET, now - 600, body), body)
    assert not receiver.verify(SECRET, "v1=deadbeef", body)


def test_an_endpoint_is_disabled_after_repeated_failures_and_the_administrators_told_once(
    endpoint, receiver, case_factory, settings, admin_user, mailbox
):
    settings.WEBHOOK_MAX_RETRIES = 0
    settings.WEBHOOK_MAX_FAILURES = 3
    receiver.answer(500, times=100)
    rows = []
    for _ in range(4):
        case_factory("submitted")
        rows.append(WebhookDelivery.objects.select_related("endpoint").latest("pk"))

    notices = [delivery.deliver(row) for row in rows[:2]]
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.consecutive_failures, notices) == (True, 2, [None, None])

    notice = delivery.deliver(rows[2])

    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.consecutive_failures) == (False, 3)
    assert notice == DisablingNotice.objects.get(endpoint=endpoint)
    # A delivery still waiting for it is failed unsent (by its job, which loads it
    # anew); a new event opens none.
    rows[3] = WebhookDelivery.objects.select_related("endpoint").get(pk=rows[3].pk)
    assert delivery.deliver(rows[3]) is None
    rows[3].refresh_from_db()
    assert (rows[3].status, rows[3].attempts) == ("failed", 0)
    assert rows[3].last_error == "Not sent: the endpoint is disabled."
    assert len(receiver.received) == 3
    case_factory("submitted")
    assert WebhookDelivery.objects.count() == 4

    delivery.notify_disabled(notice)
    delivery.notify_disabled(notice)  # the job twice: one email

    [message] = mailbox.messages
    assert message["To"].addresses[0].addr_spec == admin_user.email
    assert message["Subject"] == "Webhook endpoint disabled: Partner dashboard"
    text = message.get_body(("plain",)).get_content()
    assert "3 deliveries to it failed in a row" in text
    assert "Answered 500; given up after 1 attempt(s)" in text
    assert f"/admin/webhooks/endpoint/{endpoint.pk}/change/" in text
    notice.refresh_from_db()
    assert (notice.status, notice.message_id) == ("sent", message["Message-ID"])


def test_a_delivered_event_resets_the_count_of_failures(endpoint, receiver, case_factory, settings):
    settings.WEBHOOK_MAX_RETRIES = 0
    settings.WEBHOOK_MAX_FAILURES = 2
    for answer in (500, 200, 500):  # after a success, one failure is not two in a row
        case_factory("submitted")
        receiver.answer(answer)
        deliver_all()

    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.consecutive_failures) == (True, 1)
    assert [r.status for r in WebhookDelivery.objects.order_by("pk")] == [
        "failed",
        "sent",
        "failed",
    ]


def test_the_admin_enables_a_disabled_endpoint_again_with_its_count_reset(
    client, admin_user, endpoint
):
    Endpoint.objects.filter(pk=endpoint.pk).update(
        active=False, consecutive_failures=10, disabled_at=timezone.now()
    )
    client.force_login(admin_user)
    response = client.post(
        f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
        {
            "name": endpoint.name,
            "url": endpoint.url,
            "events": [Event.APPROVED],
            "secret": SECRET,
            "active": "on",
            "disabling_notices-TOTAL_FORMS": "0",
            "disabling_notices-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.consecutive_failures, endpoint.disabled_at) == (
        True,
        0,
        None,
    )
    assert endpoint.events == [Event.APPROVED]


@pytest.mark.parametrize("status", [200, 500])
def test_an_answer_holding_a_nul_byte_is_kept_with_the_byte_replaced(
    endpoint, receiver, case_factory, status
):
    """A receiver may answer with bytes that are not text (a binary body, a stray NUL):
    the answer's start is kept on the delivery's row as any other, a NUL read as
    U+FFFD, which PostgreSQL's text can hold."""
    receiver.answer(status, body=b"stored\x00\xff id=7")
    case_factory("submitted")
    row = WebhookDelivery.objects.select_related("endpoint").get()

    if status == 200:
        delivery.deliver(row)
    else:
        with pytest.raises(DeliveryDeferred, match="Answered 500"):
            delivery.deliver(row)

    row.refresh_from_db()
    assert row.status == ("sent" if status == 200 else "pending")
    assert (row.attempts, row.response_status) == (1, status)
    assert row.response_excerpt == "stored\ufffd\ufffd id=7"
