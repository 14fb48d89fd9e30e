import os
from logging.config import dictConfig

from celery import Celery
from celery.signals import setup_logging
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def log_through_django(**kwargs):
    """With this receiver connected, Celery leaves logging alone instead of replacing
    it with its own: workers and beat log through Django's LOGGING, like the web."""
    dictConfig(settings.LOGGING)
