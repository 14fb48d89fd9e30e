from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F, Q

from evidence.corroboration import RECOUNTED, recount, refresh_corroboration
from tracker.models import Case

# Mismatches listed by name; the rest are counted.
SHOWN = 20
# Cases repaired a statement (SQLite takes some 32,000 parameters at most).
BATCH = 1000


def mismatched():
    """The cases whose stored corroboration differs from a recount, with both."""
    differs = Q()
    for stored, recounted in RECOUNTED.items():
        differs |= ~Q(**{stored: F(recounted)})
    return recount(Case.objects.order_by("pk")).filter(differs)


class Command(BaseCommand):
    help = (
        "Recount every case's independent supporting and refuting sources and suggested "
        "credibility, and compare with what the case stores (what the lists filter and "
        "sort by). Lists the cases that differ and exits with status 1 if any do; --fix "
        "stores the recount for them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="store the recount where it differs")

    def handle(self, *args, fix=False, **options):
        fields = ["pk", "reference", *RECOUNTED, *RECOUNTED.values()]
        found = []  # the ids only: a changed minimum can make every case differ
        for row in mismatched().values_list(*fields).iterator(chunk_size=2000):
            found.append(row[0])
            if len(found) <= SHOWN:
                self.stdout.write(describe(dict(zip(fields, row, strict=True))))
        if len(found) > SHOWN:
            self.stdout.write(f"… and {len(found) - SHOWN} more.")
        total = Case.objects.count()
        if not found:
            self.stdout.write(f"All {total} cases store their corroboration as counted.")
            return
        if not fix:
            raise CommandError(
                f"{len(found)} of {total} cases store a corroboration that differs from a "
                "recount; run again with --fix to store the recount."
            )
        for start in range(0, len(found), BATCH):
            with transaction.atomic():
                refresh_corroboration(found[start : start + BATCH])
        left = mismatched().count()
        if left:
            raise CommandError(f"Stored the recount of {len(found)} cases; {left} still differ.")
        self.stdout.write(f"Stored the recount of {len(found)} of {total} cases.")


def describe(values):
    differences = ", ".join(
        f"{name} stored {values[name]}, counted {values[recounted]}"
        for name, recounted in RECOUNTED.items()
        if values[name] != values[recounted]
    )
    return f"DIFFERS {values['reference']}: {differences}"
