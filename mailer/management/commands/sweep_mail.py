from django.core.management.base import BaseCommand
from django.utils import timezone

from mailer.sweep import sweep


class Command(BaseCommand):
    help = (
        "Queue again every delivery (reminder, notification, digest) that a failed or "
        "lost task left unsent; beat does this every few minutes. A Celery worker sends "
        "them, each at most once."
    )

    def handle(self, *args, **options):
        count = sweep(timezone.now())
        self.stdout.write(f"Queued {count} delivery(ies) again.")
