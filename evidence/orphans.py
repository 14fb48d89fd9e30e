"""What the evidence store holds that no evidence item uses: stored files no item
cites (a file kept for a retry counts once it has expired), files on disk without a
row, and uploads left behind in incoming/ by a request that died. Only things
untouched for GRACE count, so an upload still in progress (its file placed, its row
and item not yet committed) is never taken for one."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import batched
from pathlib import Path

from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from .files import incoming_dir, path_of, root
from .models import StagedUpload, StoredFile

GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Orphan:
    path: Path
    description: str
    stored_file: StoredFile | None = None

    def __str__(self):
        return f"{self.description}: {self.path}"


def unused_files(now):
    """Stored files that no evidence item cites and nobody keeps for their next try."""
    return StoredFile.objects.filter(items__isnull=True).exclude(staged__expires_at__gt=now)


def find_orphans(now=None):
    now = now or timezone.now()
    cutoff = now - GRACE
    unused = unused_files(now).filter(stored_at__lt=cutoff).order_by("pk")
    for stored in unused:
        yield Orphan(
            path_of(stored),
            f"stored file {stored.sha256} ({filesizeformat(stored.size)}, "
            f"{stored.content_type}, stored {stored.stored_at:%Y-%m-%d %H:%M}) is used by "
            "no evidence item",
            stored,
        )
    in_store = (p for p in sorted(root().glob("??/??/*")) if _older_than(p, cutoff))
    for batch in batched(in_store, 1000):
        with_rows = set(
            StoredFile.objects.filter(sha256__in=[p.name for p in batch]).values_list(
                "sha256", flat=True
            )
        )
        for path in batch:
            if path.name not in with_rows:
                yield Orphan(path, f"file without a stored-file row ({_size(path)})")
    for path in sorted(incoming_dir().iterdir()):
        if _older_than(path, cutoff):
            yield Orphan(path, f"upload left behind in incoming/ ({_size(path)})")


def remove(orphan, now=None):
    """Remove an orphan; False if it was kept because an item cites it by now, or
    someone keeps it for their next try."""
    now = now or timezone.now()
    if orphan.stored_file is not None:
        try:
            with transaction.atomic():
                StagedUpload.objects.filter(file=orphan.stored_file, expires_at__lte=now).delete()
                unused = unused_files(now).filter(pk=orphan.stored_file.pk)
                if not unused.delete()[0]:
                    return False
        except IntegrityError:
            return False
    orphan.path.unlink(missing_ok=True)
    return True


def _older_than(path, cutoff):
    return path.is_file() and datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff


def _size(path):
    return filesizeformat(path.stat().st_size)
