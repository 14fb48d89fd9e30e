from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        # Connects the receiver that turns workflow.case_moved into webhook deliveries.
        from . import tasks  # noqa: F401
