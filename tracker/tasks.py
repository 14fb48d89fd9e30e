"""Celery tasks. Each takes ids and dates, loads what it needs and calls one function.

The domain never imports this module: the workflow announces each transition with
the ``workflow.case_moved`` signal, which the receiver below turns into a task (the
app's ``ready()`` connects it), and the reminder fan-out lives here. Mail tasks retry
transient failures (``mailer.tasks.MailTask``).
"""

import itertools
from datetime import datetime

from celery import shared_task
from django.dispatch import receiver
from django.utils import timezone

from mailer.tasks import MailTask

from . import notifications, reminders, workflow
from .models import Case, Transition

# Overdue cases put on record and enqueued together.
BATCH = 1000


@receiver(workflow.case_moved)
def notify_when_committed(sender, transition, **kwargs):
    notifications.open_notifications(transition)
    # Mail only once the transition is committed: a rolled-back one sends nothing.
    notify_transition.delay_on_commit(transition.pk)


@shared_task(base=MailTask)
def notify_transition(transition_id):
    transition = Transition.objects.select_related(
        "case__created_by", "case__assigned_reviewer", "actor"
    ).get(pk=transition_id)
    notifications.notify(transition)


def enqueue_reminders(now):
    """Enqueue a reminder job for each overdue case not yet reminded about today,
    each one's reminder put on record first. Returns how many were enqueued."""
    count = 0
    for batch in itertools.batched(reminders.overdue_cases(now).iterator(chunk_size=BATCH), BATCH):
        reminders.open_reminders(batch, now)
        for case_id, _ in batch:
            send_reminder.delay_on_commit(case_id, now.isoformat())
        count += len(batch)
    return count


@shared_task(base=MailTask)
def send_reminders(as_of=None):
    # ``as_of`` lets a run be replayed for a given moment; beat passes none.
    enqueue_reminders(datetime.fromisoformat(as_of) if as_of else timezone.now())


@shared_task(base=MailTask)
def send_reminder(case_id, as_of):
    case = Case.objects.select_related("created_by", "assigned_reviewer").get(pk=case_id)
    reminders.remind(case, datetime.fromisoformat(as_of))
