import time

from django.core.management.base import BaseCommand, CommandError

from evidence.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the PostgreSQL database (pg_dump, custom format), then the evidence store, "
        "into a new folder, with a manifest of the rows per table and each file's digest."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="a new or empty folder")

    def handle(self, *args, directory, **options):
        started = time.monotonic()
        try:
            summary = backup(directory)
        except BackupError as error:
            raise CommandError(error) from None
        self.stdout.write(
            f"Backed up {summary} to {directory} in {time.monotonic() - started:.1f} s."
        )
