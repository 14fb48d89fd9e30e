"""The webhooks' Celery tasks, and the receiver that turns a transition into them.

``workflow.case_moved`` is sent inside the transition's transaction: the receiver
opens the deliveries there (``events.open_deliveries``) and enqueues their jobs once
it commits. Delivery jobs retry with backoff (``WEBHOOK_RETRY_BACKOFF`` …).
"""

from celery import shared_task
from django.dispatch import receiver

from mailer.tasks import DeliveryTask, MailTask
from tracker import workflow

from . import delivery, events
from .models import DisablingNotice, WebhookDelivery


class WebhookTask(DeliveryTask):
    settings_prefix = "WEBHOOK"


@receiver(workflow.case_moved)
def deliver_when_committed(sender, transition, **kwargs):
    for delivery_id in events.open_deliveries(transition):
        # Only once the transition is committed: a rolled-back one delivers nothing.
        deliver_webhook.delay_on_commit(delivery_id)


@shared_task(base=WebhookTask)
def deliver_webhook(delivery_id):
    record = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    notice = delivery.deliver(record)
    if notice:
        notify_disabled.delay(notice.pk)


@shared_task(base=MailTask)
def notify_disabled(notice_id):
    delivery.notify_disabled(DisablingNotice.objects.select_related("endpoint").get(pk=notice_id))
