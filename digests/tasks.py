"""The digest's Celery tasks: the weekly fan-out, the job that sends a batch of
digests, and the job that sends one (a retry, or the sweep's)."""

import itertools
from datetime import date

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.utils import timezone

from mailer.tasks import MailTask

from . import weekly
from .models import Subscription

# Subscriptions read, put on record and enqueued together: the fan-out holds one
# batch of ids at a time, however many subscriptions there are.
BATCH = 1000
# Digests one job sends over one SMTP connection: small enough that the workers of
# several machines share a run's jobs, large enough to spread a job's fixed costs.
SEND_BATCH = 100


def enqueue_digests(period_end):
    """Enqueue the digest jobs of the active subscriptions not yet served for the
    week before ``period_end``, their delivery rows written first. Returns how many
    digests were enqueued."""
    due = weekly.subscriptions_due(period_end).iterator(chunk_size=BATCH)
    count = 0
    for batch in itertools.batched(due, BATCH):
        weekly.open_deliveries(batch, period_end)
        for part in itertools.batched(batch, SEND_BATCH):
            send_digest_batch.delay_on_commit(list(part), period_end.isoformat())
        count += len(batch)
    return count


@shared_task(base=MailTask)
def send_digests(period_end=None):
    enqueue_digests(date.fromisoformat(period_end) if period_end else timezone.localdate())


@shared_task(base=MailTask)
def send_digest_batch(subscription_ids, period_end):
    """A failure of the database retries the whole batch (its sent digests are skipped
    then); a digest the mail server defers is retried alone, so one slow mailbox holds
    up no other."""
    deferred = weekly.deliver_digests(subscription_ids, date.fromisoformat(period_end))
    for subscription_id in deferred:
        countdown = get_exponential_backoff_interval(
            factor=settings.MAIL_RETRY_BACKOFF,
            retries=0,
            maximum=settings.MAIL_RETRY_BACKOFF_MAX,
            full_jitter=True,
        )
        send_digest.apply_async((subscription_id, period_end), countdown=countdown)


@shared_task(base=MailTask)
def send_digest(subscription_id, period_end):
    subscription = Subscription.objects.get(pk=subscription_id)
    weekly.deliver_digest(subscription, date.fromisoformat(period_end))
