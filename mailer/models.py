"""What every delivery that must happen exactly once records; see mailer.delivery.

Abstract: each app that delivers such things keeps its own table of deliveries, with
the fields that say what is delivered (a case and a day, a subscription and a week, a
transition and a webhook endpoint), and names the task that delivers it
(``delivery_task``, ``delivery_task_args``), which is what the sweep (``mailer.sweep``)
re-enqueues when a delivery is left pending. ``Delivery`` is what any delivery keeps
(emails, webhooks); ``EmailDelivery`` adds the Message-ID every copy of an email carries.
"""

from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models


def new_message_id():
    return make_msgid(domain=urlsplit(settings.SITE_URL).hostname)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # An attempt is under way, or its worker died before recording the outcome.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One thing (an email, a webhook call) that must be delivered exactly once."""

    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Attempts whose worker died between starting to send and recording the outcome:
    # the receiver may have accepted the delivery, so each may be a duplicate.
    unknown_outcomes = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # The name of the Celery task that delivers this kind of record.
    delivery_task = None
    # Fields of its own an attempt sets (say, the receiver's answer), written with
    # the outcome.
    outcome_fields = ()

    class Meta:
        abstract = True

    def delivery_task_args(self):
        """The arguments ``delivery_task`` takes to deliver this record."""
        raise NotImplementedError

    def claimed(self):
        """Called as an attempt is claimed; returns the names of the fields it set."""
        return []


class EmailDelivery(Delivery):
    """One email that must go out exactly once."""

    # Fixed when the record is made, so a copy sent again carries the same Message-ID
    # and mail clients show it once.
    message_id = models.CharField("Message-ID", max_length=255, blank=True, default=new_message_id)

    class Meta:
        abstract = True

    def claimed(self):
        # Records made before Message-IDs were fixed at creation have none yet.
        if self.message_id:
            return []
        self.message_id = new_message_id()
        return ["message_id"]
