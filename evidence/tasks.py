from dataclasses import asdict

from celery import shared_task
from django.conf import settings

from mailer.tasks import MailTask

from . import integrity, staging
from .integrity import IntegrityFailure, notify_administrators


@shared_task
def verify_evidence():
    """Weekly: start an integrity run (or resume the unfinished one) and hand each of
    its chunks not yet checked to the workers, which check them in parallel."""
    run, _ = integrity.start(scheduled=True)
    queue_chunks(integrity.pending_chunks(run))
    return run.pk


def queue_chunks(chunk_ids):
    # The time limit is one chunk's, read when queued (not when this module is
    # imported, so settings changed later apply): a chunk is at most
    # EVIDENCE_CHECK_CHUNK_MB, whatever the size of the store.
    limit = settings.EVIDENCE_CHECK_CHUNK_TIME_LIMIT
    for chunk_id in chunk_ids:
        verify_evidence_chunk.apply_async(
            (chunk_id,), time_limit=limit, soft_time_limit=limit * 4 // 5
        )


@shared_task
def verify_evidence_chunk(chunk_id):
    """Check one chunk; the worker that checks a scheduled run's last chunk mails its
    failures, if any."""
    finished = integrity.check_chunk(chunk_id)
    if finished is not None and finished.scheduled:
        report_failures(integrity.failures_of(finished))


def report_failures(failures):
    if failures:
        # Mailing is its own task, so a mail server's hiccup retries the mail, not the
        # hashing.
        notify_integrity_failures.delay([asdict(failure) for failure in failures])


@shared_task(base=MailTask)
def notify_integrity_failures(failures):
    notify_administrators([IntegrityFailure(**failure) for failure in failures])


@shared_task
def discard_expired_uploads():
    """Hourly: forget the files kept for a retry that nobody came back for, and remove
    them from the store (see evidence.staging)."""
    forgotten, removed = staging.discard_expired()
    return {"forgotten": forgotten, "removed": removed}
