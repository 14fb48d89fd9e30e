"""Delivering one webhook: signed, through the guarded client, exactly once on record
(``mailer.delivery.deliver_once``), and disabling an endpoint that keeps failing.

An attempt succeeds when the endpoint answers 2xx. Anything else (another status, a
redirect, a timeout, a refused connection) is retried with backoff, at most
``WEBHOOK_MAX_RETRIES`` times, after which the delivery is failed; an address the
guard refuses (``webhooks.client``) fails it at once. Each failed delivery counts
against its endpoint, each delivered one resets the count, and the endpoint is
disabled when ``WEBHOOK_MAX_FAILURES`` deliveries in a row failed, with one notice to
the administrators (a ``DisablingNotice``, sent by mail like any other).
"""

import time

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from mailer import mail
from mailer.delivery import DeliveryDeferred, DeliveryRefused, deliver_once
from mailer.models import DeliveryStatus
from tracker.models import Transition

from . import client, signing
from .models import DisablingNotice, Endpoint, Event, WebhookDelivery

USER_AGENT = "sanctions-tracker-webhooks/1"
# How much of an endpoint's answer is kept on the delivery, in characters.
EXCERPT = 500


def headers(delivery, secret, timestamp, body):
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Tracker-Event": delivery.event,
        "Tracker-Delivery": str(delivery.delivery_id),
        "Tracker-Signature": signing.header(secret, timestamp, body),
    }


def deliver(delivery):
    """Deliver ``delivery`` (with its endpoint) unless it was delivered or given up
    before. Raises DeliveryDeferred when it is to be tried again later; returns the
    DisablingNotice when this failure disabled its endpoint, else None."""
    endpoint = delivery.endpoint
    if not endpoint.active:
        # Disabled since the event: nothing goes to it until it is enabled again.
        return withhold(delivery, "Not sent: the endpoint is disabled.")
    if reopened_since(delivery):
        # The payload describes the case as approved, for partners who may read only
        # approved cases: once it is reopened, its reopening is the news, not the
        # approval (a later approval is an event of its own).
        return withhold(
            delivery,
            "Not sent: the case was reopened before this approval was delivered; "
            "its approval no longer stands.",
        )
    attempted = []

    def attempt(record):
        attempted.append(record.attempts)
        record.response_status, record.response_excerpt = None, ""
        body = record.body.encode()
        try:
            record.response_status, answer = client.post(
                endpoint.url, body, headers(record, endpoint.secret, int(time.time()), body)
            )
        except client.ForbiddenAddress as error:
            raise DeliveryRefused(str(error)) from error
        except requests.Timeout:
            failure = f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS} s"
        except (requests.RequestException, OSError) as error:
            failure = f"{type(error).__name__}: {error}"
        else:
            record.response_excerpt = answer[:EXCERPT]
            if 200 <= record.response_status < 300:
                return
            failure = f"Answered {record.response_status}"
        if record.attempts > settings.WEBHOOK_MAX_RETRIES:
            raise DeliveryRefused(f"{failure}; given up after {record.attempts} attempt(s)")
        raise DeliveryDeferred(failure)

    record = deliver_once(WebhookDelivery.objects, delivery, attempt)
    if not attempted:  # delivered or given up by another attempt before
        return None
    if record.status == DeliveryStatus.SENT:
        Endpoint.objects.filter(pk=endpoint.pk, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
        return None
    return count_failure(endpoint)


def withhold(delivery, why):
    """Fail ``delivery`` unsent, saying ``why``, unless it was sent already; this is no
    failure of the endpoint's (its count of failures stays)."""
    WebhookDelivery.objects.filter(
        pk=delivery.pk, status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    ).update(status=DeliveryStatus.FAILED, last_error=why)


def reopened_since(delivery):
    if delivery.event != Event.APPROVED:
        return False
    approval = delivery.transition
    # A case's transitions are written one at a time under its row lock: in id order.
    later = Transition.objects.filter(case=approval.case_id, pk__gt=approval.pk)
    return later.filter(action="reopen").exists()


def count_failure(endpoint):
    """One more failed delivery for ``endpoint``; disables it at WEBHOOK_MAX_FAILURES in
    a row. Returns the DisablingNotice put on record (in the same transaction, so one
    disabling gets one notice) when it did."""
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.consecutive_failures += 1
        changed = ["consecutive_failures"]
        notice = None
        if endpoint.active and endpoint.consecutive_failures >= settings.WEBHOOK_MAX_FAILURES:
            endpoint.active, endpoint.disabled_at = False, timezone.now()
            changed += ["active", "disabled_at"]
            notice = DisablingNotice.objects.create(
                endpoint=endpoint, disabled_at=endpoint.disabled_at
            )
        endpoint.save(update_fields=changed)
    return notice


def notify_disabled(notice):
    """Email the administrators, once, that an endpoint was disabled."""
    endpoint = notice.endpoint
    # The last delivery that failed trying, not one failed unsent once it was disabled.
    last = endpoint.deliveries.filter(
        status=DeliveryStatus.FAILED, last_attempt_at__isnull=False
    ).order_by("-last_attempt_at")
    context = {
        "endpoint": endpoint,
        "notice": notice,
        "failures": settings.WEBHOOK_MAX_FAILURES,
        "last_failure": last.first(),
        "admin_url": mail.absolute_url(
            reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])
        ),
    }
    return mail.send_once(
        DisablingNotice.objects,
        {"pk": notice.pk},
        lambda record: mail.email_message(
            "webhook_disabled", context, to=mail.addresses_of(mail.administrators())
        ),
    )
