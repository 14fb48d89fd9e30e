"""Every email the project sends: rendering, sending and exactly-once delivery.

This module knows templates, SMTP and delivery records, and no domain app: the apps
that send mail (tracker's notifications and reminders, digests, evidence's integrity
check) compose their messages and call it. Each email is three templates,
``templates/emails/<name>.subject.txt``, ``.txt`` and ``.html``, rendered by
``render_email``. ``send`` tells a transient SMTP failure (retry later) from a
permanent rejection (give up).
"""

import email.policy
import logging
import smtplib
from datetime import timedelta

import css_inline
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template import Context, Engine
from django.template.loader import render_to_string
from django.utils import timezone

from .models import DeliveryStatus, new_message_id

logger = logging.getLogger(__name__)

# A delivery in either status is never attempted again.
DONE = (DeliveryStatus.SENT, DeliveryStatus.FAILED)


class DeliveryDeferred(Exception):
    """The mail server or the network failed for now; the task retries later."""


class DeliveryRefused(Exception):
    """The mail server rejected the message for good (5xx); retrying will not help."""


def render_email(name, context, inline_css=True):
    """Render the subject, the text and the HTML (with inlined CSS) of one email.

    ``inline_css=False`` leaves the HTML as its template wrote it, the CSS in its
    style block: for showing an email on a page of the site, whose Content Security
    Policy refuses style attributes.
    """
    text = render_to_string(f"emails/{name}.txt", context)
    html = render_to_string(f"emails/{name}.html", context)
    if inline_css:
        # Many mail clients drop <style> blocks; styles survive only inline.
        html = css_inline.inline(html)
    return render_subject(name, context), text, html


def render_subject(name, context):
    """A subject is plain text: a title reads as the monitor typed it, not as HTML
    entities. It is one line, so a title holding a line break cannot add a header."""
    template = Engine.get_default().get_template(f"emails/{name}.subject.txt")
    return " ".join(template.render(Context(context, autoescape=False)).split())


class Email(EmailMultiAlternatives):
    def message(self, *, policy=email.policy.default):
        # The default 78-character folding turns a long header without spaces (the
        # List-Unsubscribe URL) into RFC 2047 encoded words, which mail clients do not
        # read as a URL; RFC 5322 allows lines of up to 998 characters.
        return super().message(policy=policy.clone(max_line_length=998))


def email_message(name, context, to, cc=(), headers=None):
    subject, text, html = render_email(name, context)
    headers = {"Message-ID": new_message_id(), **(headers or {})}
    message = Email(subject, text, to=to, cc=cc, headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def administrators():
    """Active superusers: who hears of escalations and failures."""
    return get_user_model().objects.filter(is_active=True, is_superuser=True)


def addresses_of(users):
    """The email addresses of ``users``, leaving out those who gave none."""
    return [user.email for user in users if user.email]


def absolute_url(path):
    """A link that works from a mail client."""
    return settings.SITE_URL + path


def is_permanent(error):
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def send(message):
    """Send one message; raise DeliveryDeferred or DeliveryRefused when it fails."""
    try:
        message.send()
    # smtplib's errors, refused connections and timeouts are all OSErrors.
    except OSError as error:
        if is_permanent(error):
            raise DeliveryRefused(describe(error)) from error
        raise DeliveryDeferred(describe(error)) from error


def describe(error):
    return f"{type(error).__name__}: {error}"


def send_once(records, lookup, compose, defaults=None):
    """Send the message for the delivery record ``lookup`` finds or creates, unless
    it went out (or was refused) before. Returns the record.

    Every step is on record before the next starts, each committed on its own:

    1. The record is created (``pending``) before anything else can fail, so a task
       that fails for any reason leaves it for its retry or for the sweep.
    2. The message is composed.
    3. The attempt is claimed (``claim_attempt``): ``attempts`` goes up,
       ``last_attempt_at`` is set and the status becomes ``sending``, committed
       before the SMTP conversation starts. The message takes the record's own
       Message-ID, so every copy of it carries the same one.
    4. The message is sent, outside any transaction (no row stays locked while a
       slow server answers), and the outcome written: ``sent``, ``failed`` (5xx) or
       back to ``pending`` (a transient failure; the task retries).

    The ``sending`` status is the claim: a second worker racing for the record finds
    it and is told to try later (``DeliveryDeferred``), so two live workers never both
    send. A claim older than ``CELERY_TASK_TIME_LIMIT`` belongs to a worker that is
    gone (the time limit kills any task that runs longer): its outcome is unknown (the
    server may have accepted that copy), so the next claim counts it in
    ``unknown_outcomes`` and sends again. ``compose(record)`` returns the message.
    """
    record, _ = records.get_or_create(**lookup, defaults=defaults)
    if record.status in DONE:
        return record
    message = compose(record)
    record = claim_attempt(records, record.pk)
    if record.status in DONE:
        return record
    message.extra_headers["Message-ID"] = record.message_id
    deferred = None
    try:
        send(message)
    except DeliveryRefused as error:
        logger.warning("%s refused: %s", record, error)
        record.status, record.last_error = DeliveryStatus.FAILED, str(error)
    except DeliveryDeferred as error:
        record.status, record.last_error = DeliveryStatus.PENDING, str(error)
        deferred = error
    else:
        record.status, record.last_error = DeliveryStatus.SENT, ""
        record.sent_at = timezone.now()
    # Unless a later claim took over: then that attempt's outcome is the one to keep.
    records.filter(pk=record.pk, attempts=record.attempts).update(
        status=record.status, last_error=record.last_error, sent_at=record.sent_at
    )
    if deferred:
        raise deferred
    return record


def claim_attempt(records, pk):
    """Put an attempt on record and commit it; see ``send_once``. Returns the record,
    ``sending``, or already done by another worker; raises DeliveryDeferred while
    another worker's attempt is under way."""
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
        # Records made before Message-IDs were fixed at creation have none yet.
        record.message_id = record.message_id or new_message_id()
        record.save(
            update_fields=[
                "status",
                "attempts",
                "unknown_outcomes",
                "last_attempt_at",
                "message_id",
            ]
        )
    return record
