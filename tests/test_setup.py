import logging
import os
import subprocess
import sys
from pathlib import Path

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


ROOT = Path(__file__).resolve().parent.parent


def demo_commands(*make_args):
    """The commands `make demo` would run, without running them."""
    env = {key: value for key, value in os.environ.items() if key not in ("PORT", "MAKEFLAGS")}
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "demo", *make_args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    (honcho,) = [line for line in result.stdout.splitlines() if "honcho start" in line]
    return honcho


def procfile():
    return dict(
        line.split(":", 1)
        for line in (ROOT / "Procfile.demo").read_text().splitlines()
        if line and not line.startswith("#")
    )


def test_the_demos_links_point_where_it_serves():
    processes = procfile()
    assert processes["web"].strip() == "python manage.py runserver 127.0.0.1:$DEMO_PORT"
    honcho = demo_commands()
    assert "DEMO_PORT=8000" in honcho.split()
    assert "SITE_URL=http://127.0.0.1:8000" in honcho.split()
    # Another port, when 8000 is taken: the links follow.
    honcho = demo_commands("PORT=8123")
    assert "DEMO_PORT=8123" in honcho.split()
    assert "SITE_URL=http://127.0.0.1:8123" in honcho.split()


def test_the_demos_workers_start_quietly_and_the_ready_block_comes_last():
    processes = procfile()
    for name in ("worker", "beat"):
        assert "--quiet" in processes[name].split()  # no banner
        assert "LOG_LEVEL=WARNING" in processes[name].split()
    assert processes["ready"].split()[-2:] == ["demo_ready", "--stay"]
    assert "LOG_LEVEL=WARNING" in processes["ready"].split()


def test_the_demos_mail_is_written_as_eml_files(tmp_path):
    env = {**os.environ, "DEBUG": "1", "VAR_DIR": str(tmp_path)}
    env.pop("EMAIL_HOST", None)
    backend = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.core.mail import get_connection;"
            "print(type(get_connection()).__module__, type(get_connection()).__name__)",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert backend == ["mailer.backends", "EmlFileBackend"]


def test_the_demos_processes_share_one_cache(tmp_path):
    # A case the demo's worker imports moves the dashboards' counts on (a version in
    # the cache); the web server must read that version, not one of its own.
    env = {**os.environ, "DEBUG": "1", "VAR_DIR": str(tmp_path)}
    for name in ("REDIS_URL", "CACHE_URL", "DATABASE_URL"):
        env.pop(name, None)

    def run(code):
        return subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); " + code],
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    run("from common import versioned_cache; versioned_cache.current_version('cases')")
    before = run(
        "from common import versioned_cache; print(versioned_cache.current_version('cases'))"
    )
    run("from common import versioned_cache; versioned_cache.bump('cases')")
    after = run(
        "from common import versioned_cache; print(versioned_cache.current_version('cases'))"
    )
    assert int(after) == int(before) + 1
