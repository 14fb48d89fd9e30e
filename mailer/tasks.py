"""The base class of every task that delivers something: transient failures are retried.

A transient SMTP, HTTP, network or database failure (``DeliveryDeferred``,
``OperationalError``, ``InterfaceError``) retries the task with exponential backoff:
after ``<PREFIX>_RETRY_BACKOFF`` seconds, doubling up to ``<PREFIX>_RETRY_BACKOFF_MAX``,
at most ``<PREFIX>_MAX_RETRIES`` times, where the prefix is ``MAIL`` for mail
(``MailTask``) and another app's own for its deliveries. The settings are read at
each failure, not when the task is defined, so a deployment's (or a test's) settings
always apply. A permanent failure (``DeliveryRefused``) is not retried. What a task
leaves behind when its retries are spent, ``sweep_deliveries`` enqueues again (see
``mailer.sweep``).
"""

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import sweep
from .delivery import DeliveryDeferred

TRANSIENT_FAILURES = (DeliveryDeferred, OperationalError, InterfaceError)


class DeliveryTask(DjangoTask):
    # Names the settings of the backoff: MAIL_RETRY_BACKOFF and so on.
    settings_prefix = None

    def setting(self, name):
        return getattr(settings, f"{self.settings_prefix}_{name}")

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except TRANSIENT_FAILURES as error:
            countdown = get_exponential_backoff_interval(
                factor=self.setting("RETRY_BACKOFF"),
                retries=self.request.retries,
                maximum=self.setting("RETRY_BACKOFF_MAX"),
                full_jitter=True,
            )
            raise self.retry(
                exc=error, countdown=countdown, max_retries=self.setting("MAX_RETRIES")
            ) from error


class MailTask(DeliveryTask):
    settings_prefix = "MAIL"


@shared_task
def sweep_deliveries():
    sweep.sweep(timezone.now())
