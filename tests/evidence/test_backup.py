"""The backup and restore drill: the demo backed up, restored into a new database and a
new folder, and checked; and the refusals that keep a restore from mixing data."""

import os
import stat
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from evidence.models import CustodyEvent, EvidenceItem

# pg_dump reads what the test wrote, so the test's writes are committed. The database's
# initial rows (roles, content types) are restored before each test and emptied after,
# as the migration test in test_grading.py expects of the tests before it.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The record that must survive a restore unchanged, row for row.
RECORD = [
    "evidence_custodyevent",
    "tracker_transition",
    "tracker_historicalcase",
    "evidence_historicalevidenceitem",
    "evidence_historicalsource",
]


@pytest.fixture
def demo(settings):
    settings.DEBUG = True  # load_demo refuses to run without it
    call_command("load_demo")


def rows(cursor, table):
    # The restore adds a "verified" custody event to each item; the rest is the record.
    where = "WHERE action != 'verified'" if table == "evidence_custodyevent" else ""
    cursor.execute(f"SELECT * FROM {table} {where} ORDER BY 1")
    return cursor.fetchall()


@pytest.mark.postgres
def test_a_backup_of_the_demo_restores_into_a_new_database_and_folder_intact(
    demo, evidence_root, scratch_database, tmp_path
):
    with connection.cursor() as cursor:
        record = {table: rows(cursor, table) for table in RECORD}
    call_command("backup", tmp_path / "backup")
    restored_database = scratch_database("restored")
    restored_root = tmp_path / "restored-evidence"

    result = subprocess.run(
        [sys.executable, "manage.py", "restore", tmp_path / "backup"],
        cwd=django_settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": restored_database,
            "EVIDENCE_ROOT": str(restored_root),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "the rows match the manifest and every evidence file matches" in result.stdout
    stored = sorted(p.relative_to(evidence_root) for p in evidence_root.glob("??/??/*"))
    assert stored, "the demo has evidence files"
    assert sorted(p.relative_to(restored_root) for p in restored_root.glob("??/??/*")) == stored
    for path in stored:
        assert (restored_root / path).read_bytes() == (evidence_root / path).read_bytes()
        assert not (restored_root / path).stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP)
    with psycopg.connect(restored_database) as restored:
        cursor = restored.cursor()
        restored_record = {table: rows(cursor, table) for table in RECORD}
        # The restore re-hashed every file and wrote it on each item's custody.
        cursor.execute(
            "SELECT count(DISTINCT item_id) FROM evidence_custodyevent WHERE action = 'verified'"
        )
        assert cursor.fetchone()[0] == EvidenceItem.objects.filter(file__isnull=False).count()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            cursor.execute("UPDATE evidence_custodyevent SET note = 'rewritten'")
    assert restored_record == record


@pytest.mark.postgres
def test_restore_refuses_a_database_that_is_not_empty(demo, settings, tmp_path):
    call_command("backup", tmp_path / "backup")
    settings.EVIDENCE_ROOT = tmp_path / "restored-evidence"
    events = CustodyEvent.objects.count()

    with pytest.raises(CommandError, match="is not empty .* restore only into a new, empty"):
        call_command("restore", tmp_path / "backup")

    assert CustodyEvent.objects.count() == events
    assert not settings.EVIDENCE_ROOT.exists()


@pytest.mark.postgres
def test_restore_refuses_a_backup_whose_files_do_not_match_its_manifest(demo, settings, tmp_path):
    call_command("backup", tmp_path / "backup")
    [altered, *_] = (tmp_path / "backup" / "evidence").glob("??/??/*")
    os.chmod(altered, 0o644)
    altered.write_bytes(altered.read_bytes() + b" and a forged line")
    settings.EVIDENCE_ROOT = tmp_path / "restored-evidence"

    with pytest.raises(CommandError, match=f"{altered.name} .*does not match the manifest"):
        call_command("restore", tmp_path / "backup")

    assert not settings.EVIDENCE_ROOT.exists()


@pytest.mark.postgres
def test_restore_refuses_a_folder_that_is_no_finished_backup(tmp_path):
    with pytest.raises(CommandError, match="has no manifest.json"):
        call_command("restore", tmp_path)


def test_backup_says_when_pg_dump_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(CommandError, match="pg_dump is not installed"):
        call_command("backup", tmp_path / "backup")

    assert not (tmp_path / "backup").exists()


@pytest.mark.postgres
def test_backup_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "last-week.dump").write_bytes(b"an older backup")

    with pytest.raises(CommandError, match="is not empty"):
        call_command("backup", tmp_path / "backup")

    assert (tmp_path / "backup" / "last-week.dump").read_bytes() == b"an older backup"


@pytest.mark.postgres
def test_backup_refuses_to_finish_when_a_file_the_database_names_is_gone(
    demo, evidence_root, tmp_path
):
    [lost, *_] = evidence_root.glob("??/??/*")
    lost.unlink()

    with pytest.raises(CommandError, match=f"not in the store, e.g. {lost.name}"):
        call_command("backup", tmp_path / "backup")

    assert not (tmp_path / "backup" / "manifest.json").exists()
