"""The sweep: deliveries (emails, webhooks) a failed or lost task left behind are
enqueued again.

A task that fails for good (its retries spent, a bug, a lost broker) leaves its
delivery ``pending`` (or ``sending``, when its worker died mid-send). Every few minutes
beat runs ``mailer.tasks.sweep_deliveries`` (also ``manage.py sweep_mail``), which
enqueues each such record's own task again, once its last attempt is older than
``MAIL_SWEEP_AFTER_MINUTES`` (a task still retrying has tried more recently, or is
about to) and while it is younger than ``MAIL_SWEEP_WITHIN_HOURS`` (older ones are left
to a person: the admin lists them by status). ``mailer.delivery`` keeps it exactly-once
whatever the sweep enqueues.

Each kind of delivery takes part by subclassing ``mailer.models.Delivery`` and naming
its task (``delivery_task``, ``delivery_task_args``).
"""

import logging
from datetime import timedelta

from celery import current_app
from django.apps import apps
from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce

from .models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def delivery_models():
    return [model for model in apps.get_models() if issubclass(model, Delivery)]


def left_behind(model, now):
    """The records of ``model`` that no task is working on any more."""
    last_activity = Coalesce("last_attempt_at", "created_at")
    return (
        model.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])
        .alias(last_activity=last_activity)
        .filter(
            Q(last_activity__lt=now - timedelta(minutes=settings.MAIL_SWEEP_AFTER_MINUTES)),
            Q(last_activity__gte=now - timedelta(hours=settings.MAIL_SWEEP_WITHIN_HOURS)),
        )
    )


def sweep(now):
    """Enqueue the task of every delivery left behind. Returns how many."""
    count = 0
    for model in delivery_models():
        for record in left_behind(model, now).iterator():
            logger.warning("%s left %s, enqueued again", record, record.status)
            current_app.send_task(model.delivery_task, args=record.delivery_task_args())
            count += 1
    return count
