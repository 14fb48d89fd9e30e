from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.timesince import timesince

from evidence.orphans import GRACE, find_orphans, remove


class Command(BaseCommand):
    help = (
        "List what the evidence store holds that no evidence item uses (stored files no "
        "item cites, files without a row, uploads left in incoming/), untouched for an "
        "hour; remove them with --delete. Exits with status 1 if any are left."
    )

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true", help="remove what is listed")

    def handle(self, *args, delete=False, **options):
        orphans = list(find_orphans())
        if not orphans:
            self.stdout.write(
                f"Nothing orphaned (anything changed in the last {grace()} is left alone)."
            )
            return
        kept = 0
        for orphan in orphans:
            if not delete:
                self.stdout.write(f"ORPHAN {orphan}")
            elif remove(orphan):
                self.stdout.write(f"REMOVED {orphan}")
            else:
                kept += 1
                self.stdout.write(f"KEPT {orphan}: an evidence item uses it now")
        if not delete:
            raise CommandError(
                f"{len(orphans)} orphaned file(s) or row(s); run with --delete to remove them."
            )
        self.stdout.write(f"Removed {len(orphans) - kept}, kept {kept}.")


def grace():
    now = timezone.now()
    return timesince(now - GRACE, now)
