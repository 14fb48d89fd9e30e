"""Reminders about cases that wait too long, escalated to the administrators later.

``overdue_cases`` finds the cases to remind about (daily, from beat, or from
``manage.py send_reminders``); ``open_reminders`` puts their reminders on record before
``tracker.tasks`` enqueues one job per case; ``remind`` is that job. A ``Reminder`` row
per case and day keeps it to one reminder a day however often it runs, and a job the
broker loses leaves its row pending for the mail sweep.
"""

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from mailer import mail
from mailer.models import DeliveryStatus

from .models import Case, Reminder, ReminderKind, review_sla


def overdue_cases(now):
    """(id, waiting since) of the overdue cases not yet reminded about today."""
    reminded_today = Reminder.objects.filter(case=OuterRef("pk"), date=timezone.localdate(now))
    return (
        Case.objects.overdue(now)
        .exclude(Exists(reminded_today))
        # Longest waiting first, along the open cases' index, which holds both columns:
        # the rows themselves are never read.
        .order_by("state_changed_at")
        .values_list("pk", "state_changed_at")
    )


def kind_of(waited):
    return ReminderKind.ESCALATION if waited >= 2 * review_sla() else ReminderKind.REMINDER


def open_reminders(cases, now):
    """Put today's reminders about ``cases`` ((id, waiting since) pairs) on record,
    pending, before any job is queued: a job the broker then loses leaves its row for
    the mail sweep (mailer.sweep), instead of waiting for tomorrow's run."""
    Reminder.objects.bulk_create(
        [
            Reminder(
                case_id=pk, date=timezone.localdate(now), due_at=now, kind=kind_of(now - since)
            )
            for pk, since in cases
        ],
        ignore_conflicts=True,
    )


def remind(case, now):
    """Remind whoever must act on ``case``, or past twice the SLA escalate to the
    administrators, unless that happened today already. Returns the Reminder or None."""
    today = timezone.localdate(now)
    if not case.is_overdue(now):
        # Acted on since the scan: the reminder it opened is no longer due.
        Reminder.objects.filter(
            case=case, date=today, status=DeliveryStatus.PENDING, attempts=0
        ).delete()
        return None
    waited = now - case.state_changed_at
    return mail.send_once(
        Reminder.objects,
        {"case": case, "date": today},
        lambda reminder: reminder_message(reminder, waited),
        defaults={"kind": kind_of(waited), "due_at": now},
    )


def reminder_message(reminder, waited):
    case = reminder.case
    must_act = mail.addresses_of(case.who_must_act())
    if reminder.kind == ReminderKind.ESCALATION:
        to, cc = mail.addresses_of(mail.administrators()), must_act
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
