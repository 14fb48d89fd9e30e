from celery import shared_task

from .integrity import notify_administrators, verify_all


@shared_task
def verify_evidence():
    failures = verify_all()
    if failures:
        notify_administrators(failures)
    return len(failures)
