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
from django.db import connections, transaction
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
    return attempt_claimed(records, record, attempt)


def attempt_claimed(records, record, attempt, outcome_flushed=True):
    """Make the attempt a claim put on record (``claim_attempt``, ``claim_attempts``)
    and write its outcome; see ``deliver_once``.

    ``outcome_flushed=False`` writes the outcome without waiting for PostgreSQL to
    flush it to disk (``synchronous_commit`` off for that transaction alone): a batch
    sending one message after another then does not wait for the disk once per
    message. Only a crash of PostgreSQL itself can lose such an outcome (the last
    fraction of a second's); its record stays ``sending`` and is sent again once the
    claim is older than the time limit, counted in ``unknown_outcomes``, as after a
    worker lost mid-send. Claims are always flushed: a lost claim would let a copy go
    out uncounted.
    """
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
    with transaction.atomic(using=records.db):
        database = connections[records.db]
        if not outcome_flushed and database.vendor == "postgresql":
            with database.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
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
        fields = claim(record, timezone.now())
        record.save(update_fields=fields)
    return record


def claim_attempts(records, pks):
    """``claim_attempt`` for many records in one transaction (one commit, where each
    claim alone costs one): for a batch that then delivers them one after the other.
    Returns ``{pk: record}``, each record ``sending`` (claimed), done by another
    worker, or a ``DeliveryDeferred`` while another worker's attempt is under way."""
    outcomes = {}
    with transaction.atomic():
        claimed, fields = [], None
        now = timezone.now()
        for record in records.select_for_update().filter(pk__in=pks).order_by("pk"):
            if record.status in DONE:
                outcomes[record.pk] = record
                continue
            try:
                fields = claim(record, now)
            except DeliveryDeferred as error:
                outcomes[record.pk] = error
                continue
            claimed.append(record)
            outcomes[record.pk] = record
        if claimed:
            records.bulk_update(claimed, sorted({*fields, "message_id"} & field_names(records)))
    return outcomes


def release_claims(records, claimed):
    """Give back claims whose attempt was never made (the batch holding them failed
    first): pending again, the claim not counted, unless a later claim took over."""
    for record in claimed:
        records.filter(
            pk=record.pk, attempts=record.attempts, status=DeliveryStatus.SENDING
        ).update(status=DeliveryStatus.PENDING, attempts=record.attempts - 1)


def field_names(records):
    return {field.name for field in records.model._meta.concrete_fields}


def claim(record, now):
    """Mark ``record`` (locked) claimed at ``now``; returns the fields set. Raises
    DeliveryDeferred while another worker's attempt is under way."""
    if record.status == DeliveryStatus.SENDING:
        if now - record.last_attempt_at < timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT):
            raise DeliveryDeferred(f"{record}: attempt {record.attempts} is under way")
        logger.warning("%s: attempt %d ended with no outcome", record, record.attempts)
        record.unknown_outcomes += 1
    record.status = DeliveryStatus.SENDING
    record.attempts += 1
    record.last_attempt_at = now
    return ["status", "attempts", "unknown_outcomes", "last_attempt_at", *record.claimed()]
