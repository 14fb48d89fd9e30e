"""Celery tasks. Each takes ids and dates, loads what it needs and calls one function.

Mail tasks retry with exponential backoff on transient SMTP, network and database
failures (``mail.DeliveryDeferred``, ``OperationalError``); a permanent SMTP rejection
is recorded on the delivery row, or fails the task, and is never retried.
"""

from datetime import date, datetime

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import digests, notifications, reminders
from .mail import DeliveryDeferred
from .models import Case, Subscription, Transition

RETRY_ON_TRANSIENT_FAILURE = {
    "autoretry_for": (DeliveryDeferred, OperationalError, InterfaceError),
    "retry_backoff": settings.MAIL_RETRY_BACKOFF,
    "retry_backoff_max": settings.MAIL_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": settings.MAIL_MAX_RETRIES,
}


@shared_task(**RETRY_ON_TRANSIENT_FAILURE)
def notify_transition(transition_id):
    transition = Transition.objects.select_related(
        "case__created_by", "case__assigned_reviewer", "actor"
    ).get(pk=transition_id)
    notifications.notify(transition)


@shared_task(**RETRY_ON_TRANSIENT_FAILURE)
def send_reminders():
    reminders.send_reminders(timezone.now())


@shared_task(**RETRY_ON_TRANSIENT_FAILURE)
def send_reminder(case_id, as_of):
    case = Case.objects.select_related("created_by", "assigned_reviewer").get(pk=case_id)
    reminders.remind(case, datetime.fromisoformat(as_of))


@shared_task(**RETRY_ON_TRANSIENT_FAILURE)
def send_digests(period_end=None):
    digests.send_digests(date.fromisoformat(period_end) if period_end else timezone.localdate())


@shared_task(**RETRY_ON_TRANSIENT_FAILURE)
def send_digest(subscription_id, period_end):
    subscription = Subscription.objects.get(pk=subscription_id)
    digests.deliver_digest(subscription, date.fromisoformat(period_end))
