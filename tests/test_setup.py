import logging
import os
import subprocess
import sys

import pytest
from celery.app.log import Logging
from celery.utils.log import ColorFormatter
from django.core.management import call_command
from django.db import connection

from config.celery import app


@pytest.mark.django_db
def test_migrations_match_the_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.skipif(not os.environ.get("CI"), reason="only CI must run on PostgreSQL")
def test_ci_runs_the_suite_on_postgresql():
    assert connection.vendor == "postgresql", "CI must set DATABASE_URL to PostgreSQL"


@pytest.mark.skipif(not os.environ.get("CI"), reason="only CI must run on Redis")
def test_ci_runs_the_broker_on_redis(settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")


def test_celery_logs_through_djangos_logging(settings):
    # What a worker started with --loglevel DEBUG does to logging as it starts.
    Logging(app).setup_logging_subsystem(loglevel="DEBUG")
    root = logging.getLogger()
    assert logging.getLevelName(root.level) == settings.LOGGING["root"]["level"]
    assert not any(isinstance(handler.formatter, ColorFormatter) for handler in root.handlers)


def test_the_demo_loads_into_a_var_dir_nobody_prepared(tmp_path):
    env = {**os.environ, "VAR_DIR": str(tmp_path / "fresh"), "DEBUG": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)
    for command in (["migrate", "--no-input"], ["load_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], env=env, check=True, capture_output=True
        )
    assert (tmp_path / "fresh" / "celery" / "broker").is_dir()
