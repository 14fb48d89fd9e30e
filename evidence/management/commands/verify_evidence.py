import time

from django.core.management.base import BaseCommand, CommandError

from evidence import integrity
from evidence.tasks import queue_chunks, report_failures


class Command(BaseCommand):
    help = (
        "Re-hash every stored evidence file, chunk by chunk; fail listing each item that "
        "does not match. An interrupted check is resumed: run it again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers",
            action="store_true",
            help="hand the chunks to the Celery workers (in parallel) and follow their "
            "progress, instead of checking them in this process",
        )
        parser.add_argument(
            "--new",
            action="store_true",
            help="start a new check even if an unfinished one could be resumed",
        )

    def handle(self, *args, workers=False, new=False, **options):
        run, resumed = integrity.start(resume=not new)
        progress = integrity.progress(run)
        if resumed:
            self.stdout.write(
                f"Resuming the check started {run.started_at:%Y-%m-%d %H:%M %Z}: {progress}."
            )
        else:
            self.stdout.write(
                f"Checking {progress.bytes_total / 1e6:,.1f} MB in {progress.chunks_total} chunks."
            )
        pending = integrity.pending_chunks(run)
        if workers:
            queue_chunks(pending)
            run = self.follow(run, progress)
        else:
            for chunk_id in pending:
                finished = integrity.check_chunk(chunk_id)
                self.stdout.write(str(integrity.progress(run)))
                if finished is not None and finished.scheduled:
                    report_failures(integrity.failures_of(finished))
        failures = integrity.failures_of(run)
        if failures:
            for failure in failures:
                self.stderr.write(f"FAILED {failure}")
            raise CommandError(f"{len(failures)} evidence item(s) failed the integrity check.")
        self.stdout.write("All stored evidence files match their digests.")

    def follow(self, run, shown):
        """Print the run's progress as the workers check its chunks, until it is done.
        Stopping this command leaves the workers checking."""
        while run.finished_at is None:
            time.sleep(1)
            run.refresh_from_db()
            progress = integrity.progress(run)
            if progress != shown:
                self.stdout.write(str(progress))
                shown = progress
        return run
