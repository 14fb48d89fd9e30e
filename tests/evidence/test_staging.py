"""Files kept for a retry expire and are removed with their bytes, hourly; until then
no clean-up touches them."""

import os
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from evidence import files, staging, tasks
from evidence.custody import add_evidence
from evidence.models import StagedUpload, StoredFile
from evidence.orphans import find_orphans, remove
from tests import factories

ABANDONED = b"%PDF-1.7\nA scan nobody came back for"
WAITING = b"%PDF-1.7\nA scan its monitor will use on the next try"


def keep(user, content, name="scan.pdf"):
    upload = ContentFile(content, name=name)
    return staging.stage(user, upload, files.check(upload))


def age(kept, hours):
    """Make a kept file look ``hours`` old (its row and its bytes on disk)."""
    then = timezone.now() - timedelta(hours=hours)
    StoredFile.objects.filter(pk=kept.file_id).update(stored_at=then)
    StagedUpload.objects.filter(pk=kept.pk).update(
        staged_at=then, expires_at=then + timedelta(hours=24)
    )
    os.utime(files.path_of(kept.file), (then.timestamp(), then.timestamp()))


@pytest.fixture
def kept(monitor):
    abandoned, waiting = keep(monitor, ABANDONED), keep(monitor, WAITING)
    age(abandoned, 25)
    age(waiting, 23)
    return {"abandoned": abandoned, "waiting": waiting}


def test_the_hourly_task_removes_expired_kept_files_and_their_bytes(kept):
    assert tasks.discard_expired_uploads() == {"forgotten": 1, "removed": 1}
    assert list(StagedUpload.objects.all()) == [kept["waiting"]]
    assert not StoredFile.objects.filter(pk=kept["abandoned"].file_id).exists()
    assert not files.path_of(kept["abandoned"].file).exists()
    assert files.path_of(kept["waiting"].file).exists()
    assert tasks.discard_expired_uploads() == {"forgotten": 0, "removed": 0}


def test_bytes_an_item_cites_are_kept_when_the_kept_file_expires(kept, case_factory, monitor):
    item = add_evidence(
        case_factory(),
        monitor,
        upload=ContentFile(ABANDONED),
        original_filename="same-bytes.pdf",
        source=factories.SourceFactory(),
        kind="document",
        stance="supports",
        title="The same scan, sent again",
    )
    assert staging.discard_expired() == (1, 0)
    assert files.path_of(item.file).exists()
    assert StoredFile.objects.filter(pk=item.file_id).exists()


def test_evidence_orphans_lists_an_expired_kept_file_and_never_a_waiting_one(kept):
    out = StringIO()
    with pytest.raises(CommandError, match="1 orphaned"):
        call_command("evidence_orphans", stdout=out)
    assert kept["abandoned"].file.sha256 in out.getvalue()
    assert kept["waiting"].file.sha256 not in out.getvalue()

    out = StringIO()
    call_command("evidence_orphans", "--delete", stdout=out)
    assert "Removed 1, kept 0." in out.getvalue()
    assert not StagedUpload.objects.filter(pk=kept["abandoned"].pk).exists()
    assert files.path_of(kept["waiting"].file).exists()


def test_a_file_kept_again_meanwhile_is_not_removed(kept, monitor):
    """The same bytes kept anew for someone's next try, after the listing: kept."""
    orphan = next(o for o in find_orphans() if o.stored_file == kept["abandoned"].file)
    keep(monitor, ABANDONED, "again.pdf")
    assert remove(orphan) is False
    assert files.path_of(kept["abandoned"].file).exists()


def test_a_kept_file_waiting_for_its_retry_is_never_an_orphan(monitor):
    """Past the orphans' hour of grace, within the 24 hours it is kept."""
    keep(monitor, WAITING)
    assert list(find_orphans(timezone.now() + timedelta(hours=2))) == []
    assert list(find_orphans(timezone.now() + timedelta(hours=25)))
