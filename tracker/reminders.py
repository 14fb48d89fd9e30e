"""Reminders about cases that wait too long, escalated to the administrators later.

``send_reminders`` runs daily (beat) or from ``manage.py send_reminders``: one query
finds the overdue cases and it enqueues one job per case; ``remind`` is that job. A
``Reminder`` row per case and day keeps it to one reminder a day however often it runs.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import mail, tasks
from .models import WAITING_STATES, Case, Reminder, ReminderKind, administrators


def sla():
    return timedelta(days=settings.REVIEW_SLA_DAYS)


def overdue_cases(now):
    """Ids of the cases waiting longer than the SLA and not yet reminded about today."""
    reminded_today = Reminder.objects.filter(case=OuterRef("pk"), date=timezone.localdate(now))
    return (
        Case.objects.waiting()
        .filter(state_changed_at__lte=now - sla())
        .exclude(Exists(reminded_today))
        .values_list("pk", flat=True)
    )


def send_reminders(now):
    """Enqueue a reminder job for each overdue case not yet reminded about today."""
    count = 0
    for case_id in overdue_cases(now).iterator():
        tasks.send_reminder.delay_on_commit(case_id, now.isoformat())
        count += 1
    return count


def remind(case, now):
    """Remind whoever must act on ``case``, or past twice the SLA escalate to the
    administrators, unless that happened today already. Returns the Reminder or None."""
    waited = now - case.state_changed_at
    if case.state not in WAITING_STATES or waited < sla():
        return None
    kind = ReminderKind.ESCALATION if waited >= 2 * sla() else ReminderKind.REMINDER
    return mail.send_once(
        Reminder.objects,
        {"case": case, "date": timezone.localdate(now)},
        lambda reminder: reminder_message(reminder, waited),
        defaults={"kind": kind},
    )


def reminder_message(reminder, waited):
    case = reminder.case
    must_act = [user.email for user in case.who_must_act() if user.email]
    if reminder.kind == ReminderKind.ESCALATION:
        to = [user.email for user in administrators() if user.email]
        cc = must_act
    else:
        to, cc = must_act, []
    context = {
        "case": case,
        "reminder": reminder,
        "escalation": reminder.kind == ReminderKind.ESCALATION,
        "days_waiting": waited.days,
        "sla_days": settings.REVIEW_SLA_DAYS,
        "case_url": mail.absolute_url(case.get_absolute_url()),
    }
    return mail.email_message("case_reminder", context, to=to, cc=cc)
