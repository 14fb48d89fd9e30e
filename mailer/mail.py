"""Every email the project sends: rendering, sending and exactly-once delivery.

This module knows templates, SMTP and delivery records, and no domain app: the apps
that send mail (tracker's notifications and reminders, digests, evidence's integrity
check) compose their messages and call it. Each email is three templates,
``templates/emails/<name>.subject.txt``, ``.txt`` and ``.html``, rendered by
``render_email``. ``send`` tells a transient SMTP failure (retry later) from a
permanent rejection (give up).
"""

import email.policy
import smtplib

import css_inline
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends import smtp
from django.template import Context, Engine
from django.template.loader import render_to_string

# The delivery machinery's exceptions: callers of ``send`` and ``send_once`` catch
# them from here.
from .delivery import DONE, DeliveryDeferred, DeliveryRefused, attempt_claimed, deliver_once
from .models import new_message_id


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
    return rendered_message(*render_email(name, context), to=to, cc=cc, headers=headers)


def rendered_message(subject, text, html, to, cc=(), headers=None):
    """The message of an email already rendered (``render_email``'s three parts)."""
    headers = {"Message-ID": new_message_id(), **(headers or {})}
    message = Email(subject, text, to=to, cc=cc, headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def connection():
    """A connection to the SMTP server for many messages in turn (``send(message,
    connection)``, then ``close_quietly(connection)``), or None where mail goes
    elsewhere (files, memory), and each message keeps going its own way: the demo's
    file backend writes one file a connection, which must stay one file a message.

    Opening an SMTP session (connect, greeting, EHLO, QUIT) costs about as much as
    sending a digest over one: a batch of digests opens one.
    """
    backend = mailers.default
    return backend if isinstance(backend, smtp.EmailBackend) else None


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


def send(message, connection=None):
    """Send one message (over ``connection``, if given, else a connection of its own);
    raise DeliveryDeferred or DeliveryRefused when it fails."""
    try:
        if connection is None:
            message.send()
        else:
            # Opened by the first message, kept open for the next: send_messages closes
            # only a connection it opened itself.
            connection.open()
            connection.send_messages([message])
    # smtplib's errors, refused connections and timeouts are all OSErrors.
    except OSError as error:
        if connection is not None:
            # The session may be broken (a dropped connection, a reply out of turn):
            # the next message opens a new one.
            close_quietly(connection)
        if is_permanent(error):
            raise DeliveryRefused(describe(error)) from error
        raise DeliveryDeferred(describe(error)) from error


def close_quietly(connection):
    try:
        connection.close()
    except OSError:
        pass


def describe(error):
    return f"{type(error).__name__}: {error}"


def send_once(records, lookup, compose, defaults=None, connection=None):
    """Send the message for the delivery record ``lookup`` finds or creates, unless
    it went out (or was refused) before. Returns the record.

    The record is created (``pending``) first, the message composed second
    (``compose(record)`` returns it), and only then is the attempt claimed and made
    by ``mailer.delivery.deliver_once``, which keeps it to one attempt at a time,
    each on record before it is made. The message takes the record's own
    Message-ID, so every copy of it carries the same one.
    """
    record, _ = records.get_or_create(**lookup, defaults=defaults)
    return send_record(records, record, compose, connection)


def send_record(records, record, compose, connection=None):
    """``send_once`` for a record already read."""
    if record.status in DONE:
        return record
    message = compose(record)
    return deliver_once(records, record, sending(message, connection))


def send_claimed(records, record, message, connection=None):
    """Send ``message`` for a record whose attempt is claimed already
    (``mailer.delivery.claim_attempts``: a batch claims its records at once), and
    write the outcome, not waiting for the disk (see ``attempt_claimed``). Returns the
    record; raises DeliveryDeferred."""
    return attempt_claimed(records, record, sending(message, connection), outcome_flushed=False)


def sending(message, connection):
    """The attempt that sends ``message`` with its record's own Message-ID, so every
    copy of it carries the same one."""

    def attempt(claimed):
        message.extra_headers["Message-ID"] = claimed.message_id
        send(message, connection)

    return attempt
