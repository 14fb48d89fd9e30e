from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Evidence"

    def ready(self):
        # Connects the receivers that keep each case's stored corroboration current.
        from . import corroboration  # noqa: F401
