"""Webhook endpoints that administrators register, and the deliveries made to them.

Each event a transition raises is one ``WebhookDelivery`` per endpoint that asked for
it, opened in the transition's own transaction and delivered exactly once by the
machinery every delivery shares (``mailer.delivery``).
"""

import secrets
import uuid

from django.db import models

from mailer.models import Delivery, EmailDelivery
from tracker.models import Transition


class Event(models.TextChoices):
    SUBMITTED = "case.submitted", "Case submitted"
    APPROVED = "case.approved", "Case approved"
    REJECTED = "case.rejected", "Case rejected"
    REOPENED = "case.reopened", "Case reopened"


def new_secret():
    return secrets.token_urlsafe(32)


class Endpoint(models.Model):
    """A partner's URL that receives the events it asked for, signed with its secret."""

    name = models.CharField(max_length=200, help_text="Whose endpoint it is, for the admin.")
    url = models.URLField(
        "URL",
        max_length=500,
        help_text="Where the events are POSTed. https:// only in production; private, "
        "loopback and link-local addresses are refused.",
    )
    secret = models.CharField(
        max_length=200,
        default=new_secret,
        help_text="Signs every delivery (HMAC-SHA256); give it to the endpoint's owner. "
        "A new one is made for each endpoint.",
    )
    # Event values; a list in a JSON column works the same on SQLite and PostgreSQL.
    events = models.JSONField(default=list)
    active = models.BooleanField(
        default=True,
        help_text="Disabled automatically after WEBHOOK_MAX_FAILURES deliveries in a row "
        "failed; tick it again to resume (new events only).",
    )
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.url})"

    def wants(self, event):
        return self.active and event in self.events


class WebhookDelivery(Delivery):
    """One event delivered to one endpoint: at most one per transition and endpoint."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    transition = models.ForeignKey(
        Transition, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    event = models.CharField(max_length=30, choices=Event.choices)
    # Sent as Tracker-Delivery with every attempt: a receiver that got it before knows
    # the copy for a duplicate.
    delivery_id = models.UUIDField("delivery id", default=uuid.uuid4, unique=True, editable=False)
    # The JSON exactly as it is sent, fixed when the event happened: every attempt
    # sends the same bytes, whatever became of the case since.
    body = models.TextField()
    response_status = models.PositiveSmallIntegerField("last response code", null=True, blank=True)
    response_excerpt = models.TextField("last response body (start)", blank=True)

    delivery_task = "webhooks.tasks.deliver_webhook"
    outcome_fields = ("response_status", "response_excerpt")

    class Meta:
        ordering = ["-created_at", "pk"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["transition", "endpoint"], name="one_webhook_per_transition_and_endpoint"
            )
        ]

    def __str__(self):
        return f"{self.event} {self.delivery_id} to {self.endpoint.name}"

    def delivery_task_args(self):
        return [self.pk]


class DisablingNotice(EmailDelivery):
    """The email telling the administrators that an endpoint was disabled: one each
    time it is disabled."""

    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="disabling_notices"
    )
    disabled_at = models.DateTimeField()

    delivery_task = "webhooks.tasks.notify_disabled"

    class Meta:
        ordering = ["-disabled_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "disabled_at"], name="one_notice_per_disabling"
            )
        ]

    def __str__(self):
        return f"{self.endpoint.name} disabled at {self.disabled_at:%Y-%m-%d %H:%M}"

    def delivery_task_args(self):
        return [self.pk]
