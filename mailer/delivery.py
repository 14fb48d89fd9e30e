"""Exactly-once delivery of anything that has a ``Delivery`` row: an email, a webhook.

What is delivered and how is the caller's (``mailer.mail.send_once`` for email,
``webhooks.delivery`` for webhooks); the bookkeeping that keeps each delivery to one
attempt at a time, every attempt on record before it is made, is here:

1. The record exists (``pending``) before anything else can fail, so a task that
   fails for any reason leaves it for its retry or for the sweep (``mailer.sweep``).
2. The attempt is claimed (``claim_attempt``): ``attempts`` goes up,
   ``last_attempt_at`` is set and the status becomes ``sending``, committed before
   the delivery starts.
3. The delivery is made, outside any transaction (no row stays locked while a slow
   server answers), and the outcome written: ``sent``, ``failed`` (``DeliveryRefused``)
   or back to ``pending`` (``DeliveryDeferred``: the task retries).

The ``sending`` status is the claim: a second worker racing for the record finds it
and is told to try later (``DeliveryDeferred``), so two live workers never both
deliver. A claim older than ``CELERY_TASK_TIME_LIMIT`` belongs to a worker that is
gone (the time limit kills any task that runs longer): its outcome is unknown (the
receiver may have accepted that copy), so the next claim counts it in
``unknown_outcomes`` and delivers again.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import DeliveryStatus

logger = logging.getLogger(__name__)

# A delivery in either status is never attempted again.
DONE = (DeliveryStatus.SENT, DeliveryStatus.FAILED)


class DeliveryDeferred(Exception):
    """The receiving server or the network failed for now; the task retries later."""


class DeliveryRefused(Exception):
    """The delivery failed for good (a mail server's 5xx, say); retrying will not help."""


def deliver_once(records, record, attempt):
    """Make one attempt at delivering ``record`` (a row of ``records``, already on
    record) with ``attempt(record)``, unless it is done or another worker's attempt is
    under way; see the module's docstring. Returns the record.

    ``attempt`` gets the claimed record, delivers it, and raises ``DeliveryDeferred``
    or ``DeliveryRefused`` when that fails; it may set the record's
    ``outcome_fields``, which are written with the outcome.
    """
    if record.status in DONE:
        return record
    record = claim_attempt(records, record.pk)
    if record.status in DONE:
        return record
    deferred = None
    try:
        attempt(record)
    except DeliveryRefused as error:
        logger.warning("%s refused: %s", record, error)
        record.status, record.last_error = DeliveryStatus.FAILED, str(error)
    except DeliveryDeferred as error:
        record.status, record.last_error = DeliveryStatus.PENDING, str(error)
        deferred = error
    else:
        record.status, record.last_error = DeliveryStatus.SENT, ""
        record.sent_at = timezone.now()
    outcome = ["status", "last_error", "sent_at", *record.outcome_fields]
    # Unless a later claim took over: then that attempt's outcome is the one to keep.
    records.filter(pk=record.pk, attempts=record.attempts).update(
        **{name: getattr(record, name) for name in outcome}
    )
    if deferred:
        raise deferred
    return record


def claim_attempt(records, pk):
    """Put an attempt on record and commit it; see the module's docstring. Returns the
    record, ``sending``, or already done by another worker; raises DeliveryDeferred
    while another worker's attempt is under way."""
    with transaction.atomic():
        record = records.select_for_update().get(pk=pk)
        if record.status in DONE:
            return record
        now = timezone.now()
        if record.status == DeliveryStatus.SENDING:
            if now - record.last_attempt_at < timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT):
                raise DeliveryDeferred(f"{record}: attempt {record.attempts} is under way")
            logger.warning("%s: attempt %d ended with no outcome", record, record.attempts)
            record.unknown_outcomes += 1
        record.status = DeliveryStatus.SENDING
        record.attempts += 1
        record.last_attempt_at = now
        record.save(
            update_fields=[
                "status",
                "attempts",
                "unknown_outcomes",
                "last_attempt_at",
                *record.claimed(),
            ]
        )
    return record
