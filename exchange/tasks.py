"""The import's tasks: each loads nothing itself and calls one function of
``exchange.imports``, which is safe to run again (a task delivered twice, or again
after its worker died, finds its job done or starts it afresh)."""

from celery import shared_task
from django.conf import settings

from . import imports

# One transaction over the whole file: an import may take longer than other tasks.
LIMITS = {
    "time_limit": settings.IMPORT_TIME_LIMIT,
    "soft_time_limit": settings.IMPORT_TIME_LIMIT * 4 // 5,
}


@shared_task(**LIMITS)
def preview_import(job_id):
    imports.preview(job_id)


@shared_task(**LIMITS)
def apply_import(job_id):
    imports.apply(job_id)
