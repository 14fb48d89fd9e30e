"""The base class of every task that sends mail: transient failures are retried.

A transient SMTP, network or database failure (``DeliveryDeferred``,
``OperationalError``, ``InterfaceError``) retries the task with exponential backoff:
after ``MAIL_RETRY_BACKOFF`` seconds, doubling up to ``MAIL_RETRY_BACKOFF_MAX``, at most
``MAIL_MAX_RETRIES`` times. The settings are read at each failure, not when the task is
defined, so a deployment's (or a test's) settings always apply. A permanent rejection
(``DeliveryRefused``) is not retried. What a task leaves behind when its retries are
spent, ``sweep_deliveries`` enqueues again (see ``mailer.sweep``).
"""

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import sweep
from .mail import DeliveryDeferred

TRANSIENT_FAILURES = (DeliveryDeferred, OperationalError, InterfaceError)


class MailTask(DjangoTask):
    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except TRANSIENT_FAILURES as error:
            countdown = get_exponential_backoff_interval(
                factor=settings.MAIL_RETRY_BACKOFF,
                retries=self.request.retries,
                maximum=settings.MAIL_RETRY_BACKOFF_MAX,
                full_jitter=True,
            )
            raise self.retry(
                exc=error, countdown=countdown, max_retries=settings.MAIL_MAX_RETRIES
            ) from error


@shared_task
def sweep_deliveries():
    sweep.sweep(timezone.now())
