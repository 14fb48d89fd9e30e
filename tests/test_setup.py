import os

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.mark.django_db
def test_migrations_match_the_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.skipif(not os.environ.get("CI"), reason="only CI must run on PostgreSQL")
def test_ci_runs_the_suite_on_postgresql():
    assert connection.vendor == "postgresql", "CI must set DATABASE_URL to PostgreSQL"


@pytest.mark.skipif(not os.environ.get("CI"), reason="only CI must run on Redis")
def test_ci_runs_the_broker_on_redis(settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
