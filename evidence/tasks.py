from dataclasses import asdict

from celery import shared_task
from django.conf import settings

from mailer.tasks import MailTask

from . import staging
from .integrity import IntegrityFailure, notify_administrators, verify_all


@shared_task(
    time_limit=settings.EVIDENCE_CHECK_TIME_LIMIT,
    soft_time_limit=settings.EVIDENCE_CHECK_TIME_LIMIT - 60,
)
def verify_evidence():
    failures = verify_all()
    if failures:
        # Mailing is its own task, so a mail server's hiccup retries the mail, not the
        # hours of hashing.
        notify_integrity_failures.delay([asdict(failure) for failure in failures])
    return len(failures)


@shared_task(base=MailTask)
def notify_integrity_failures(failures):
    notify_administrators([IntegrityFailure(**failure) for failure in failures])


@shared_task
def discard_expired_uploads():
    """Hourly: forget the files kept for a retry that nobody came back for, and remove
    them from the store (see evidence.staging)."""
    forgotten, removed = staging.discard_expired()
    return {"forgotten": forgotten, "removed": removed}
