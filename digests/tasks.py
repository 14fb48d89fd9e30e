"""The digest's Celery tasks: the weekly fan-out and the job that sends one digest."""

import itertools
from datetime import date

from celery import shared_task
from django.utils import timezone

from mailer.tasks import MailTask

from . import weekly
from .models import Subscription

# Subscriptions put on record and enqueued together.
BATCH = 1000


def enqueue_digests(period_end):
    """Enqueue a digest job for each active subscription not yet served for the
    week before ``period_end``, each one's delivery row written first. Returns how
    many were enqueued."""
    due = weekly.subscriptions_due(period_end).iterator(chunk_size=BATCH)
    count = 0
    for batch in itertools.batched(due, BATCH):
        weekly.open_deliveries(batch, period_end)
        for subscription_id in batch:
            send_digest.delay_on_commit(subscription_id, period_end.isoformat())
        count += len(batch)
    return count


@shared_task(base=MailTask)
def send_digests(period_end=None):
    enqueue_digests(date.fromisoformat(period_end) if period_end else timezone.localdate())


@shared_task(base=MailTask)
def send_digest(subscription_id, period_end):
    subscription = Subscription.objects.get(pk=subscription_id)
    weekly.deliver_digest(subscription, date.fromisoformat(period_end))
