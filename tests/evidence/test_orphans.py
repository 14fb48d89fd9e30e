import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from evidence import files
from evidence.custody import add_evidence
from evidence.models import StoredFile
from tests import factories

TWO_HOURS = 2 * 60 * 60


def backdate(path):
    then = time.time() - TWO_HOURS
    os.utime(path, (then, then))


def run(*args):
    out = StringIO()
    call_command("evidence_orphans", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def store(case_factory, monitor, evidence_root):
    """An item's file, in use; an unused stored file, an unregistered file and a
    stale upload, all two hours old; and an unused stored file and an upload that
    are fresh (perhaps an upload in progress)."""
    item = add_evidence(
        case_factory("draft"),
        monitor,
        upload=ContentFile(b"%PDF-1.7\nin use"),
        original_filename="in-use.pdf",
        source=factories.SourceFactory(),
        kind="document",
        stance="supports",
        title="In use",
    )
    unused, _ = files.ingest(ContentFile(b"%PDF-1.7\nunused"), "unused.pdf")
    StoredFile.objects.filter(pk=unused.pk).update(stored_at=timezone.now() - timedelta(hours=2))
    fresh, _ = files.ingest(ContentFile(b"%PDF-1.7\nfresh"), "fresh.pdf")
    unregistered = evidence_root / "ab" / "cd" / ("abcd" + "0" * 60)
    unregistered.parent.mkdir(parents=True)
    unregistered.write_bytes(b"left by a rolled-back upload")
    stale_upload = files.incoming_dir() / "tmp1234.upload"
    stale_upload.write_bytes(b"left by a request that died")
    fresh_upload = files.incoming_dir() / "tmp5678.upload"
    fresh_upload.write_bytes(b"still arriving")
    for path in (files.path_of(unused), unregistered, stale_upload):
        backdate(path)
    return {
        "in use": files.path_of(item.file),
        "unused": unused,
        "fresh": fresh,
        "unregistered": unregistered,
        "stale upload": stale_upload,
        "fresh upload": fresh_upload,
    }


def test_it_lists_orphans_and_fails_without_removing_anything(store):
    out = StringIO()
    with pytest.raises(CommandError, match="3 orphaned file"):
        call_command("evidence_orphans", stdout=out)
    listing = out.getvalue()
    assert f"stored file {store['unused'].sha256}" in listing
    assert "used by no evidence item" in listing
    assert f"file without a stored-file row (28\xa0bytes): {store['unregistered']}" in listing
    assert f"upload left behind in incoming/ (27\xa0bytes): {store['stale upload']}" in listing
    assert store["fresh"].sha256 not in listing
    assert "tmp5678" not in listing
    assert StoredFile.objects.count() == 3
    assert all(store[key].exists() for key in ("in use", "unregistered", "stale upload"))


def test_it_removes_orphans_with_delete_and_keeps_what_is_used_or_fresh(store):
    out = run("--delete")
    assert out.count("REMOVED") == 3
    assert "Removed 3, kept 0." in out
    assert set(StoredFile.objects.all()) == {
        store["fresh"],
        StoredFile.objects.get(items__isnull=False),
    }
    assert not files.path_of(store["unused"]).exists()
    assert not store["unregistered"].exists()
    assert not store["stale upload"].exists()
    assert store["in use"].exists()
    assert files.path_of(store["fresh"]).exists()
    assert store["fresh upload"].exists()
    assert run().startswith("Nothing orphaned")


def test_an_empty_store_has_nothing_orphaned(db, evidence_root):
    assert run().startswith("Nothing orphaned")
