from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Cases and review"

    def ready(self):
        # Connects the receiver that turns workflow.case_moved into mail tasks.
        from . import tasks  # noqa: F401
