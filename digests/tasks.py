"""The digest's Celery tasks: the weekly fan-out and the job that sends one digest."""

from datetime import date

from celery import shared_task
from django.utils import timezone

from mailer.tasks import MailTask

from . import weekly
from .models import Subscription


def enqueue_digests(period_end):
    """Enqueue a digest job for each active subscription not yet served for the
    week before ``period_end``. Returns how many were enqueued."""
    count = 0
    for subscription_id in weekly.subscriptions_due(period_end).iterator():
        send_digest.delay_on_commit(subscription_id, period_end.isoformat())
        count += 1
    return count


@shared_task(base=MailTask)
def send_digests(period_end=None):
    enqueue_digests(date.fromisoformat(period_end) if period_end else timezone.localdate())


@shared_task(base=MailTask)
def send_digest(subscription_id, period_end):
    subscription = Subscription.objects.get(pk=subscription_id)
    weekly.deliver_digest(subscription, date.fromisoformat(period_end))
