"""Webhooks through a real Celery worker: the job is queued when the transition
commits, retried with backoff after a 500, and a disabled endpoint's notice mailed."""

import pytest

from tests.conftest import wait_until
from tracker import workflow
from webhooks.models import DisablingNotice, Endpoint, Event, WebhookDelivery

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@transactional
def test_an_approval_is_delivered_by_the_worker_and_retried_after_a_500(
    celery_worker, receiver, endpoint, case_factory, reviewer
):
    Endpoint.objects.filter(pk=endpoint.pk).update(events=[Event.APPROVED])
    case = case_factory("in_review", by_reviewer=reviewer)
    receiver.answer(500)

    workflow.approve(case, reviewer, justification="Matches the Panel's report.")

    first, second = receiver.wait_for(2)
    row = WebhookDelivery.objects.get()
    wait_until(lambda: WebhookDelivery.objects.filter(pk=row.pk, status="sent").exists())
    row.refresh_from_db()
    assert (row.attempts, row.response_status) == (2, 200)
    assert first.signed and second.signed
    assert first.delivery_id == second.delivery_id == str(row.delivery_id)
    assert second.payload["case"]["reference"] == case.reference


@transactional
def test_the_worker_disables_a_failing_endpoint_and_the_administrators_hear_once(
    celery_worker, mailbox, receiver, endpoint, case_factory, admin_user, settings
):
    settings.WEBHOOK_MAX_RETRIES = 0
    settings.WEBHOOK_MAX_FAILURES = 1
    receiver.answer(500, times=10)

    case_factory("submitted")

    [message] = mailbox.wait_for(1, subject="Webhook endpoint disabled")
    wait_until(lambda: DisablingNotice.objects.filter(status="sent").exists())
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert message["Message-ID"] == DisablingNotice.objects.get().message_id
    assert [str(m["Subject"]) for m in mailbox.messages].count(message["Subject"]) == 1
