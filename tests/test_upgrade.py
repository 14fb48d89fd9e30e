"""Moving the digest to its own app loses nothing: a database made by the code before
the move (its migrations, the demo, a few edits, a digest sent) is migrated by this
code, and every row, every history row and every stored file is still there."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import dj_database_url
import psycopg
import pytest
from django.conf import settings

# main just before the apps were split out (issue 11): tracker owned the digest and
# the mail code. CI runs on a full clone, so the commit is there to check out.
BEFORE_THE_SPLIT = "ae969252aab58653724b8cfc01405b338fe3db8c"
# The split's last migration; it depends on all the others the split made.
THE_SPLIT = ("digests", "0002_subscription_countries_as_country_field")

# Changed by the move on purpose: the migration record grows, the content types of
# the moved models are renamed, and a subscription's countries change their format.
CHANGED_TABLES = {"django_migrations", "django_content_type", "tracker_subscription"}

EDITS = """
from django.contrib.auth import get_user_model
from tracker.models import Case, DigestDelivery, Subscription, WeaponSystem
reviewer = get_user_model().objects.get(username="reviewer")
case = Case.objects.order_by("pk").first()
case.title += " (edited)"
case._history_user = reviewer
case.save()
weapon = WeaponSystem.objects.order_by("pk").first()
weapon.description = "Edited before the upgrade."
weapon.save()
DigestDelivery.objects.create(
    subscription=Subscription.objects.get(email="stakeholder@demo.invalid"),
    period_end="2024-10-14",
    status="sent",
    attempts=1,
    message_id="<before-the-split@localhost>",
)
"""

CHECKS = """
from digests.models import DigestDelivery, Subscription
from django.contrib.auth.models import Permission
subscription = Subscription.objects.get(email="stakeholder@demo.invalid")
print(sorted(country.code for country in subscription.countries))
print(DigestDelivery.objects.get().message_id)
print(Permission.objects.get(content_type__app_label="digests", codename="view_subscription").pk)
"""

pytestmark = pytest.mark.postgres


@pytest.fixture
def database():
    """A PostgreSQL database of its own, next to the test database, dropped after."""
    params = dj_database_url.parse(os.environ["DATABASE_URL"])
    name = f"{settings.DATABASES['default']['NAME']}_upgrade"
    server = {
        "host": params["HOST"] or None,
        "port": params["PORT"] or None,
        "user": params["USER"] or None,
        "password": params["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    yield url, server, name
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def old_checkout(tmp_path):
    folder = tmp_path / "before"
    git = ["git", "-C", str(settings.BASE_DIR)]
    subprocess.run([*git, "worktree", "add", "--detach", str(folder), BEFORE_THE_SPLIT], check=True)
    yield folder
    subprocess.run([*git, "worktree", "remove", "--force", str(folder)], check=True)


def manage(checkout, env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def table_contents(server, name):
    """Each table's row count and a digest of its rows."""
    with psycopg.connect(dbname=name, **server) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        return {
            table: connection.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
                f' FROM "{table}" t'
            ).fetchone()
            for (table,) in tables
        }


def stored_files(root):
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in Path(root).rglob("*")
        if path.is_file()
    }


def test_upgrading_from_before_the_split_keeps_every_row_and_file(database, old_checkout, tmp_path):
    url, server, name = database
    var = tmp_path / "var"
    # The old code's embedded broker needs its folders made beforehand.
    for folder in ("mail", "celery/broker", "celery/processed", "celery/control"):
        (var / folder).mkdir(parents=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "CACHE_URL", "EVIDENCE_ROOT", "EMAIL_HOST")
    }
    env.update(DATABASE_URL=url, DEBUG="1", REQUIRE_2FA="0", VAR_DIR=str(var))
    manage(old_checkout, env, "migrate", "--no-input")
    manage(old_checkout, env, "load_demo")
    manage(old_checkout, env, "shell", "-c", EDITS)
    with psycopg.connect(dbname=name, **server) as connection:
        (permission,) = connection.execute(
            "SELECT p.id FROM auth_permission p JOIN django_content_type c "
            "ON c.id = p.content_type_id WHERE c.app_label = 'tracker' "
            "AND p.codename = 'view_subscription'"
        ).fetchone()
    before, files_before = table_contents(server, name), stored_files(var / "evidence")
    assert before["tracker_historicalcase"][0] > 0 and before["tracker_digestdelivery"][0] == 1

    # Compared right after the move; later migrations change tables on purpose.
    manage(settings.BASE_DIR, env, "migrate", "--no-input", *THE_SPLIT)

    after = table_contents(server, name)
    for table, (rows, digest) in before.items():
        if table != "django_migrations":
            assert after[table][0] == rows, f"{table} lost or gained rows"
        if table not in CHANGED_TABLES:
            assert after[table][1] == digest, f"{table} changed"
    assert stored_files(var / "evidence") == files_before
    manage(settings.BASE_DIR, env, "migrate", "--no-input")
    countries, message_id, moved_permission = manage(
        settings.BASE_DIR, env, "shell", "-c", CHECKS
    ).splitlines()[-3:]
    assert countries == "['RU', 'UA']"
    assert message_id == "<before-the-split@localhost>"
    assert int(moved_permission) == permission
    manage(settings.BASE_DIR, env, "verify_evidence")
