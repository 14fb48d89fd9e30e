"""Backing up and restoring the database and the evidence store together.

A backup is a folder holding
    database.dump    the PostgreSQL database, in pg_dump's custom format;
    evidence/        the evidence store's files, under their digests, read-only;
    manifest.json    the rows per table in the dump and each file's digest and size,
                     written last: a folder without it is not a finished backup.

The database is dumped first and the store copied after. Stored files are named by
their digest and never changed, and a StoredFile row is written only once its file is
in place, so every file the dump's rows name is in the store when the copy starts.
Files stored meanwhile are copied too and are harmless: rows without files would not be,
files without rows are orphans that `manage.py evidence_orphans` lists. The row counts
are read in the very snapshot pg_dump dumps, so they are exactly the dump's.
"""

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from .files import CHUNK_SIZE, root, sha256_of_path
from .integrity import verify_all

DUMP = "database.dump"
FILES = "evidence"
MANIFEST = "manifest.json"
# How the store names a file: ab/cd/abcd… (incoming/ holds unfinished uploads).
STORED_FILE_PATTERN = "[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/" + "[0-9a-f]" * 64


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Summary:
    rows: int
    tables: int
    files: int
    bytes: int

    def __str__(self):
        return (
            f"{self.rows} rows in {self.tables} tables, {self.files} evidence files "
            f"({self.bytes / 1e6:.1f} MB)"
        )


def backup(directory):
    """Write a backup of the database and the evidence store into ``directory``, which
    must be new or empty."""
    pg_dump = _program("pg_dump")
    _require_postgresql()
    directory = Path(directory)
    _require_empty_folder(directory, "The backup folder")
    directory.mkdir(parents=True, exist_ok=True)
    dump = directory / DUMP
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        [snapshot] = cursor.fetchone()
        _run(pg_dump, ["--format=custom", f"--snapshot={snapshot}", f"--file={dump}"])
        rows = _row_counts(cursor)
        cursor.execute("SELECT sha256 FROM evidence_storedfile")
        cited = {sha256 for (sha256,) in cursor.fetchall()}
    files = {}
    for source in sorted(root().glob(STORED_FILE_PATTERN)):
        relative = source.relative_to(root()).as_posix()
        files[relative] = _copy(source, directory / FILES / relative)
    missing = sorted(cited - {Path(relative).name for relative in files})
    if missing:
        raise BackupError(
            f"{len(missing)} stored file(s) the database names are not in the store, e.g. "
            f"{missing[0]}, so this backup is unfinished. If evidence_orphans --delete ran "
            "meanwhile, run the backup again into an empty folder; otherwise run "
            "manage.py verify_evidence to see which items lost their files."
        )
    manifest = {
        "format": 1,
        "created": timezone.now().isoformat(),
        "database": {"file": DUMP, "sha256": sha256_of_path(dump), "rows": rows},
        "files": files,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    altered = [
        relative for relative, file in files.items() if Path(relative).name != file["sha256"]
    ]
    if altered:
        raise BackupError(
            f"The backup is complete, but {len(altered)} stored file(s) no longer match their "
            f"digest, e.g. {altered[0]}; run manage.py verify_evidence to see which items."
        )
    return _summary(manifest)


def restore(directory):
    """Restore a backup into the configured database, which must be empty, and
    EVIDENCE_ROOT, which must be new or empty; then check both against the manifest
    and re-hash every file (which records a "verified" custody event on each item)."""
    pg_restore = _program("pg_restore")
    _require_postgresql()
    directory = Path(directory)
    manifest = _checked_manifest(directory)
    _require_empty_database()
    _require_empty_folder(root(), "EVIDENCE_ROOT")
    _run(
        pg_restore,
        ["--exit-on-error", "--single-transaction", "--no-owner", str(directory / DUMP)],
    )
    for relative in manifest["files"]:
        target = root() / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(directory / FILES / relative, target)
        os.chmod(target, 0o444)
    with connection.cursor() as cursor:
        rows = _row_counts(cursor)
    expected = manifest["database"]["rows"]
    if rows != expected:
        differing = sorted(
            t for t in expected.keys() | rows.keys() if rows.get(t) != expected.get(t)
        )
        raise BackupError(
            "The restored database does not hold the rows the manifest lists: "
            + ", ".join(f"{t} {rows.get(t)} instead of {expected.get(t)}" for t in differing)
        )
    failures = verify_all()
    if failures:
        raise BackupError(
            f"{len(failures)} evidence item(s) failed the integrity check after the restore: "
            + "; ".join(map(str, failures))
        )
    return _summary(manifest)


def _checked_manifest(directory):
    """The backup's manifest, once the dump and every file match it."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(
            f"{directory} has no {MANIFEST}: it is not a backup, or one that did not finish."
        ) from None
    except ValueError as error:
        raise BackupError(f"{directory / MANIFEST} cannot be read: {error}") from None
    dump = directory / DUMP
    if not dump.is_file() or sha256_of_path(dump) != manifest["database"]["sha256"]:
        raise BackupError(f"{dump} is missing or does not match the manifest; nothing restored.")
    for relative, file in manifest["files"].items():
        path = directory / FILES / relative
        if not path.is_file() or sha256_of_path(path) != file["sha256"]:
            raise BackupError(
                f"{path} is missing or does not match the manifest; nothing restored."
            )
    return manifest


def _program(name):
    path = shutil.which(name)
    if not path:
        raise BackupError(
            f"{name} is not installed or not on PATH: install PostgreSQL's client programs "
            "(Debian: apt-get install postgresql-client), of the server's version or newer."
        )
    return path


def _require_postgresql():
    if connection.vendor != "postgresql":
        raise BackupError(
            f"Backups are made of PostgreSQL databases; DATABASE_URL is {connection.vendor}."
        )


def _require_empty_database():
    name = connection.settings_dict["NAME"]
    try:
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
    except OperationalError as error:
        raise BackupError(
            f"Cannot connect to the database {name} ({error}); create it first (createdb {name})."
        ) from None
    if tables:
        raise BackupError(
            f"The database {name} is not empty ({len(tables)} tables): restore only into a new, "
            f"empty database (createdb NAME, then DATABASE_URL=.../NAME)."
        )


def _require_empty_folder(folder, what):
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{what} {folder} is not empty: give a new or empty folder.")


def _run(program, arguments):
    """Run pg_dump or pg_restore on the configured database."""
    # Django's psql arguments (user, host, port, password and TLS settings) end with the
    # database name, which --dbname takes for both programs.
    args, env = connection.client.settings_to_cmd_args_env(
        connection.settings_dict, [*arguments, "--dbname"]
    )
    result = subprocess.run(
        [program, *args[1:]], env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if result.returncode:
        raise BackupError(f"{Path(program).name} failed: {result.stderr.strip()}")


def _row_counts(cursor):
    quote = connection.ops.quote_name
    counts = {}
    for table in sorted(connection.introspection.table_names(cursor)):
        cursor.execute(f"SELECT count(*) FROM {quote(table)}")
        counts[table] = cursor.fetchone()[0]
    return counts


def _copy(source, target):
    """Copy a stored file read-only, returning its digest and size as read."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while chunk := reader.read(CHUNK_SIZE):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    os.chmod(target, 0o444)
    return {"sha256": digest.hexdigest(), "size": size}


def _summary(manifest):
    rows = manifest["database"]["rows"]
    return Summary(
        rows=sum(rows.values()),
        tables=len(rows),
        files=len(manifest["files"]),
        bytes=sum(file["size"] for file in manifest["files"].values()),
    )
