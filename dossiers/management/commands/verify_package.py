from django.core.management.base import BaseCommand, CommandError

from dossiers.verify import Unreadable, verify


class Command(BaseCommand):
    help = (
        "Check an evidence package (a case's ZIP) against its manifest: re-hash every file, "
        "name each changed, missing or extra one. Needs no database."
    )
    # The recipient has no database of ours: nothing here may need one.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "package", help="the evidence package, e.g. CASE-2026-0003-evidence.zip"
        )

    def handle(self, *args, **options):
        try:
            report = verify(options["package"])
        except Unreadable as error:
            raise CommandError(str(error), returncode=2) from None
        for line in report.lines():
            self.stdout.write(line)
        of = f" of {report.reference}" if report.reference else ""
        if not report.ok:
            problems = len(report.mismatched) + len(report.missing) + len(report.extra)
            raise CommandError(
                f"The package{of} does NOT match its manifest: {problems} problem(s); "
                f"{len(report.verified)} file(s) matched.",
                returncode=1,
            )
        count = len(report.verified)
        self.stdout.write(
            f"OK: all {count} file{'' if count == 1 else 's'} of the package{of} match "
            "its manifest (SHA-256 and size), and it holds nothing else."
        )
