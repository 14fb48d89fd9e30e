from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from digests.tasks import enqueue_digests
from digests.weekly import PERIOD


class Command(BaseCommand):
    help = (
        "Queue the weekly digest for each active subscription that has not had the "
        "digest of this period yet. A Celery worker renders and sends them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--period-end",
            help="YYYY-MM-DD; the digest covers the 7 days before it. Default: today.",
        )

    def handle(self, *args, period_end=None, **options):
        try:
            end = date.fromisoformat(period_end) if period_end else timezone.localdate()
        except ValueError:
            raise CommandError(f"--period-end must be YYYY-MM-DD, not {period_end!r}") from None
        if end - date.min < PERIOD:
            raise CommandError(f"--period-end {end} leaves no week before it")
        count = enqueue_digests(end)
        self.stdout.write(
            f"Queued {count} digest(s) for {end - PERIOD} to {end} (the end excluded)."
        )
