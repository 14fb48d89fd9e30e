from django.core.management.base import BaseCommand
from django.utils import timezone

from tracker.tasks import enqueue_reminders


class Command(BaseCommand):
    help = (
        "Queue a reminder (or, past twice the SLA, an escalation) for each case that "
        "waits too long; a case gets at most one a day. A Celery worker sends them."
    )

    def handle(self, *args, **options):
        count = enqueue_reminders(timezone.now())
        self.stdout.write(f"Queued {count} reminder(s).")
