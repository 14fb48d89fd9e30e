"""Adding evidence to a case and writing its chain of custody."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from . import files
from .models import CustodyAction, CustodyEvent, EvidenceItem


def record(item, action, actor=None, note="", sha256=None):
    """Append one custody event; the digest defaults to the item's stored file."""
    if sha256 is None:
        sha256 = item.file.sha256 if item.file_id else ""
    return CustodyEvent.objects.create(
        item=item, action=action, actor=actor, sha256=sha256, note=note
    )


def may_add_evidence(user, case):
    return user.has_perm("evidence.add_evidenceitem") and case.can_edit(user)


def check_may_add_evidence(user, case):
    if not may_add_evidence(user, case):
        raise PermissionDenied(
            f"Only the monitor who created {case.reference} can add evidence, and only "
            "while it is a draft or sent back for changes."
        )


def add_evidence(case, actor, *, upload=None, original_filename=None, **fields):
    """Attach an evidence item (and optionally a file) to a case, on record.

    A ``source`` not saved yet is proposed by the actor with the item (see
    ``Source.propose``); the caller has validated it.

    Raises PermissionDenied if the actor may not add evidence to this case now,
    ValidationError for bad fields and UploadRejected for a refused file; in each
    case nothing is stored.
    """
    check_may_add_evidence(actor, case)
    source = fields.get("source")
    proposing = source is not None and source._state.adding
    item = EvidenceItem(case=case, added_by=actor, **fields)
    item.full_clean(exclude=["file", "added_by", *(["source"] if proposing else [])])
    checked = files.check(upload, original_filename) if upload is not None else None
    with transaction.atomic():
        if proposing:
            source.propose(actor)
        return save_with_file(item, actor, upload, checked)


def save_with_file(item, actor, upload=None, checked=None):
    """Save an evidence item, storing the file it comes with, on record: the one way
    an item and its file arrive, from the monitors' pages and from the admin.
    ``checked`` is what ``files.check`` said of ``upload``."""
    arriving = item._state.adding
    with transaction.atomic():
        if arriving:
            item.added_by = actor
        if upload is not None:
            item.file = files.store(upload, checked)
            item.original_filename = checked.filename
        item.save()
        if arriving:
            record_arrival(item, actor)
        elif upload is not None:
            record(item, CustodyAction.UPLOADED, actor, note=item.original_filename)
    return item


def record_arrival(item, actor):
    obtained = f"obtained {item.obtained_on:%d %b %Y}" if item.obtained_on else ""
    record(item, CustodyAction.COLLECTED, actor, note=obtained)
    if item.file_id:
        stored = item.file
        record(
            item,
            CustodyAction.UPLOADED,
            actor,
            note=f"{item.original_filename}: {stored.size} bytes, {stored.content_type}",
        )
