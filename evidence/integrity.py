"""Re-hashing stored evidence files to detect tampering and bit rot.

A check is an ``IntegrityRun`` over the stored files that items cite, split into
chunks of consecutive stored-file ids (at most ``EVIDENCE_CHECK_CHUNK_MB`` of bytes or
``EVIDENCE_CHECK_CHUNK_FILES`` files each), so that several workers hash the store in
parallel and an interrupted run is resumed chunk by chunk. A chunk's outcome (its
custody events, its failures, its ``checked_at``) is written in one transaction, so a
chunk is either checked and on record or still to do: a worker killed half-way
through one leaves nothing behind, and the chunks done before are not hashed again.
"""

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from mailer import mail

from .files import root, sha256_of_path
from .models import (
    CustodyAction,
    CustodyEvent,
    EvidenceItem,
    IntegrityChunk,
    IntegrityRun,
    StoredFile,
)


@dataclass(frozen=True)
class IntegrityFailure:
    item_id: int
    case_reference: str
    title: str
    reason: str

    def __str__(self):
        return f"evidence item {self.item_id} ({self.case_reference}: {self.title}): {self.reason}"


@dataclass(frozen=True)
class Progress:
    chunks_done: int
    chunks_total: int
    bytes_done: int
    bytes_total: int
    failures: int

    def __str__(self):
        return (
            f"{self.chunks_done} of {self.chunks_total} chunks checked, "
            f"{self.bytes_done / 1e6:,.1f} of {self.bytes_total / 1e6:,.1f} MB"
            + (f", {self.failures} item(s) failed so far" if self.failures else "")
        )


def verify_all():
    """Re-hash every stored file that items cite, in this process, in a new run, and
    record the outcome on each item. Returns the failures: items whose file is missing
    or whose bytes no longer match their digest. A file cited by several items is read
    once."""
    run, _ = start(resume=False)
    for chunk_id in pending_chunks(run):
        check_chunk(chunk_id)
    return failures_of(run)


def start(scheduled=False, resume=True):
    """The run to work on, and whether it is resumed: the unfinished run started
    within ``EVIDENCE_CHECK_RESUME_HOURS``, if any (and ``resume``), given chunks for
    the files stored since it was planned; otherwise a new run. An unfinished run too
    old to resume is marked abandoned: a chunk that keeps failing must not keep the
    rest of the store from being checked again."""
    now = timezone.now()
    unfinished = IntegrityRun.objects.filter(finished_at=None, abandoned_at=None)
    fresh = now - timedelta(hours=settings.EVIDENCE_CHECK_RESUME_HOURS)
    run = unfinished.filter(started_at__gte=fresh).first() if resume else None
    unfinished.exclude(pk=run.pk if run else None).update(abandoned_at=now)
    resumed = run is not None
    if run is None:
        run = IntegrityRun.objects.create(started_at=now, scheduled=scheduled)
    elif scheduled and not run.scheduled:
        # The weekly run took over a run started by hand: its failures are mailed.
        IntegrityRun.objects.filter(pk=run.pk).update(scheduled=True)
        run.scheduled = True
    _plan(run)
    _finish_if_done(run.pk)
    run.refresh_from_db()
    return run, resumed


def _plan(run):
    """Add chunks for the cited files after the last one this run has planned."""
    after = run.chunks.order_by("-last_file_id").values_list("last_file_id", flat=True).first()
    cited = (
        StoredFile.objects.filter(pk__gt=after or 0)
        .filter(Exists(EvidenceItem.objects.filter(file=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", "size")
    )
    limit_bytes = settings.EVIDENCE_CHECK_CHUNK_MB * 1024 * 1024
    limit_files = settings.EVIDENCE_CHECK_CHUNK_FILES
    chunks, current = [], None
    for pk, size in cited.iterator(chunk_size=2000):
        if current and (current.files >= limit_files or current.bytes + size > limit_bytes):
            chunks.append(current)
            current = None
        if current is None:
            current = IntegrityChunk(run=run, first_file_id=pk, last_file_id=pk, files=0, bytes=0)
        current.last_file_id, current.files, current.bytes = (
            pk,
            current.files + 1,
            current.bytes + size,
        )
    if current:
        chunks.append(current)
    IntegrityChunk.objects.bulk_create(chunks, batch_size=1000)


def pending_chunks(run):
    return list(
        run.chunks.filter(checked_at=None).order_by("first_file_id").values_list("pk", flat=True)
    )


def check_chunk(chunk_id):
    """Hash one chunk's files and record the outcome on each item citing them.

    Returns the run when this chunk was its last one (the run is then finished), else
    None. A chunk checked already (by another worker, or before an interruption) is
    not hashed again.
    """
    chunk = IntegrityChunk.objects.get(pk=chunk_id)
    if chunk.checked_at:
        return None
    files = StoredFile.objects.filter(
        pk__gte=chunk.first_file_id, pk__lte=chunk.last_file_id
    ).filter(Exists(EvidenceItem.objects.filter(file=OuterRef("pk"))))
    outcome = {pk: (sha256, _check(sha256)) for pk, sha256 in files.values_list("pk", "sha256")}
    with transaction.atomic():
        # Every chunk's outcome is written under its run's lock, so exactly one worker
        # sees the run's last chunk done.
        run = IntegrityRun.objects.select_for_update().get(pk=chunk.run_id)
        now = timezone.now()
        events, failures = [], []
        items = (
            EvidenceItem.objects.filter(file_id__in=outcome.keys())
            .select_related("case")
            .only("pk", "title", "file_id", "case__reference")
            .order_by("file_id", "pk")
        )
        for item in items:
            sha256, reason = outcome[item.file_id]
            if reason:
                action = CustodyAction.INTEGRITY_FAILURE
                failures.append(
                    asdict(IntegrityFailure(item.pk, item.case.reference, item.title, reason))
                )
            else:
                action, reason = CustodyAction.VERIFIED, "digest matches"
            events.append(
                CustodyEvent(item=item, action=action, at=now, sha256=sha256, note=reason)
            )
        # Two workers given the same chunk (a redelivered task) record it once.
        if not IntegrityChunk.objects.filter(pk=chunk_id, checked_at=None).update(
            checked_at=now, failures=failures
        ):
            return None
        CustodyEvent.objects.bulk_create(events, batch_size=1000)
        if run.finished_at or run.chunks.filter(checked_at=None).exists():
            return None
        run.finished_at = now
        run.save(update_fields=["finished_at"])
        return run


def _finish_if_done(run_id):
    """Mark the run finished if none of its chunks is left (a run with no chunks)."""
    with transaction.atomic():
        run = IntegrityRun.objects.select_for_update().get(pk=run_id)
        if not run.finished_at and not run.chunks.filter(checked_at=None).exists():
            run.finished_at = timezone.now()
            run.save(update_fields=["finished_at"])


def _check(sha256):
    path = root() / StoredFile(sha256=sha256).relative_path
    try:
        actual = sha256_of_path(path)
    except FileNotFoundError:
        return f"the stored file {sha256} is missing"
    except OSError as error:
        return f"the stored file {sha256} cannot be read: {error.strerror or error}"
    if actual != sha256:
        return f"the bytes no longer match: expected {sha256}, found {actual}"
    return ""


def progress(run):
    """How far the run is: chunks and bytes checked of its total, failures so far."""
    totals = run.chunks.aggregate(
        chunks_total=Count("pk"),
        chunks_done=Count("pk", filter=Q(checked_at__isnull=False)),
        bytes_total=Sum("bytes", default=0),
        bytes_done=Sum("bytes", filter=Q(checked_at__isnull=False), default=0),
    )
    failures = sum(
        len(f) for f in run.chunks.exclude(failures=[]).values_list("failures", flat=True)
    )
    return Progress(failures=failures, **totals)


def failures_of(run):
    """Every failure the run recorded, in the order of the stored files."""
    return [
        IntegrityFailure(**failure)
        for failures in run.chunks.order_by("first_file_id").values_list("failures", flat=True)
        for failure in failures
    ]


def notify_administrators(failures):
    addresses = mail.addresses_of(mail.administrators())
    if addresses:
        mail.send(mail.email_message("integrity_failure", {"failures": failures}, to=addresses))
