"""Reminders about cases that wait too long, escalated to the administrators later.

``overdue_cases`` finds the cases to remind about (daily, from beat, or from
``manage.py send_reminders``; ``tracker.tasks`` enqueues one job per case);
``remind`` is that job. A ``Reminder`` row per case and day keeps it to one reminder a
day however often it runs.
"""

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from mailer import mail

from .models import Case, Reminder, ReminderKind, review_sla


def overdue_cases(now):
    """Ids of the overdue cases not yet reminded about today."""
    reminded_today = Reminder.objects.filter(case=OuterRef("pk"), date=timezone.localdate(now))
    return Case.objects.overdue(now).exclude(Exists(reminded_today)).values_list("pk", flat=True)


def remind(case, now):
    """Remind whoever must act on ``case``, or past twice the SLA escalate to the
    administrators, unless that happened today already. Returns the Reminder or None."""
    if not case.is_overdue(now):
        return None
    waited = now - case.state_changed_at
    kind = ReminderKind.ESCALATION if waited >= 2 * review_sla() else ReminderKind.REMINDER
    return mail.send_once(
        Reminder.objects,
        {"case": case, "date": timezone.localdate(now)},
        lambda reminder: reminder_message(reminder, waited),
        defaults={"kind": kind},
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
