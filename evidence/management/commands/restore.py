import time

from django.core.management.base import BaseCommand, CommandError

from evidence.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `backup` into the configured database, which must be new "
        "and empty, and EVIDENCE_ROOT, which must be new or empty; check the rows against "
        "the backup's manifest and re-hash every evidence file."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="a folder written by manage.py backup")

    def handle(self, *args, directory, **options):
        started = time.monotonic()
        try:
            summary = restore(directory)
        except BackupError as error:
            raise CommandError(error) from None
        self.stdout.write(
            f"Restored {summary} from {directory} in {time.monotonic() - started:.1f} s; the "
            "rows match the manifest and every evidence file matches its digest."
        )
