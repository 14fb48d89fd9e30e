from django.core.management.base import BaseCommand, CommandError

from evidence.integrity import verify_all


class Command(BaseCommand):
    help = "Re-hash every stored evidence file; fail listing each item that does not match."

    def handle(self, *args, **options):
        failures = verify_all()
        if failures:
            for failure in failures:
                self.stderr.write(f"FAILED {failure}")
            raise CommandError(f"{len(failures)} evidence item(s) failed the integrity check.")
        self.stdout.write("All stored evidence files match their digests.")
