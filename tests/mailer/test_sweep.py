"""The sweep enqueues again what a failed or lost task left unsent, and nothing else."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from config.celery import app as celery_app
from digests.models import DigestDelivery, Subscription
from digests.tasks import enqueue_digests
from mailer.sweep import delivery_models
from tests.conftest import wait_until
from tracker.models import Notification, Reminder
from webhooks.models import DisablingNotice, WebhookDelivery

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def digest(email, status="pending", minutes_ago=0):
    delivery = DigestDelivery.objects.create(
        subscription=Subscription.objects.create(email=email),
        period_end=timezone.localdate(),
        status=status,
    )
    DigestDelivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return delivery


def test_every_kind_of_delivery_is_swept_by_a_task_that_exists():
    assert set(delivery_models()) == {
        Reminder,
        Notification,
        DigestDelivery,
        WebhookDelivery,
        DisablingNotice,
    }
    for model in delivery_models():
        assert model.delivery_task in celery_app.tasks


@transactional
def test_the_sweep_sends_an_old_pending_delivery_but_not_a_fresh_or_a_sent_one(
    celery_worker, mailbox, settings, capsys
):
    settings.MAIL_SWEEP_AFTER_MINUTES = 5
    left_behind = digest("left-behind@example.org", minutes_ago=6)
    fresh = digest("fresh@example.org", minutes_ago=1)
    sent = digest("sent@example.org", status="sent", minutes_ago=60)

    call_command("sweep_mail")

    assert "Queued 1 delivery(ies) again." in capsys.readouterr().out
    [message] = mailbox.wait_for(1, to=left_behind.subscription.email)
    wait_until(lambda: DigestDelivery.objects.filter(pk=left_behind.pk, status="sent").exists())
    left_behind.refresh_from_db()
    assert left_behind.message_id == message["Message-ID"]
    fresh.refresh_from_db()
    assert (fresh.status, fresh.attempts) == ("pending", 0)
    sent.refresh_from_db()
    assert sent.attempts == 0
    assert [str(m["To"]) for m in mailbox.messages] == [left_behind.subscription.email]


@pytest.mark.django_db
def test_the_sweep_leaves_a_delivery_a_worker_tried_recently(settings, capsys):
    settings.MAIL_SWEEP_AFTER_MINUTES = 5
    retrying = digest("retrying@example.org", minutes_ago=30)
    DigestDelivery.objects.filter(pk=retrying.pk).update(
        attempts=3, last_attempt_at=timezone.now() - timedelta(minutes=2)
    )
    digest("given-up-on@example.org", minutes_ago=settings.MAIL_SWEEP_WITHIN_HOURS * 60 + 1)

    call_command("sweep_mail")

    assert "Queued 0 delivery(ies) again." in capsys.readouterr().out


def test_beat_sweeps_every_five_minutes(settings):
    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "mailer.tasks.sweep_deliveries"
    ]
    assert entry["schedule"].minute == set(range(0, 60, 5))


@transactional
def test_a_digest_job_the_broker_lost_is_on_record_and_the_sweep_sends_it(
    celery_worker, mailbox, settings
):
    """The fan-out writes each digest's row before it queues the job, so a job lost
    with the broker leaves a pending row behind, which the sweep sends."""
    subscription = Subscription.objects.create(email="committee@example.org")
    period_end = timezone.localdate()
    # The jobs go to a queue no worker reads: as good as lost with the broker.
    celery_app.conf.task_default_queue = "tracker-tests-lost"
    assert enqueue_digests(period_end) == 1
    celery_app.conf.task_default_queue = "tracker-tests"
    row = DigestDelivery.objects.get(subscription=subscription, period_end=period_end)
    assert (row.status, row.attempts) == ("pending", 0)

    settings.MAIL_SWEEP_AFTER_MINUTES = 0
    call_command("sweep_mail")

    [message] = mailbox.wait_for(1, to="committee@example.org")
    wait_until(lambda: DigestDelivery.objects.filter(pk=row.pk, status="sent").exists())
    assert message["Message-ID"] == row.message_id
    with celery_app.connection_for_write() as broker:
        broker.default_channel.queue_purge("tracker-tests-lost")
