"""Adding and editing evidence on a case, and writing its chain of custody."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import Truncator

from tracker.models import Case, State

from . import files, staging
from .models import CustodyAction, CustodyEvent, EvidenceItem

# Why a case's own monitor cannot add or change its evidence in each state that is
# not editable.
CLOSED_BECAUSE = {
    State.SUBMITTED: "it is submitted and waits for a reviewer",
    State.IN_REVIEW: "it is in review",
    State.APPROVED: "it is approved",
    State.REJECTED: "it is rejected",
    State.WITHDRAWN: "it is withdrawn",
}
UNTIL = {
    State.SUBMITTED: "If a reviewer requests changes, you can add and edit evidence again.",
    State.IN_REVIEW: "If the reviewer requests changes, you can add and edit evidence again.",
}
REOPEN = "Only an administrator can reopen it."


def record(item, action, actor=None, note="", sha256=None):
    """Append one custody event; the digest defaults to the item's stored file."""
    if sha256 is None:
        sha256 = item.file.sha256 if item.file_id else ""
    return CustodyEvent.objects.create(
        item=item, action=action, actor=actor, sha256=sha256, note=note
    )


def evidence_refusal(user, case):
    """Why ``user`` may not add evidence to ``case``, or change its evidence, now; None
    if they may. Only the case's monitor may, while it is a draft or sent back for
    changes; administrators on any case, in any state."""
    if user.is_superuser:
        return None
    if not user.has_perm("evidence.add_evidenceitem"):
        return "Evidence is added by the monitor who created the case."
    if case.created_by_id != user.pk:
        return (
            f"Only {case.created_by}, who created {case.reference}, can add or change its evidence."
        )
    if not case.is_editable:
        until = UNTIL.get(case.state, REOPEN)
        return (
            f"Evidence cannot be added to {case.reference} or changed now: "
            f"{CLOSED_BECAUSE[case.state]}. {until}"
        )
    if not case.can_edit(user):
        return f"You may not change {case.reference}."
    return None


def may_add_evidence(user, case):
    return evidence_refusal(user, case) is None


def check_may_add_evidence(user, case):
    if refusal := evidence_refusal(user, case):
        raise PermissionDenied(refusal)


def add_evidence(
    case, actor, *, upload=None, original_filename=None, checked=None, kept=None, **fields
):
    """Attach an evidence item (and optionally a file) to a case, on record.

    The file is ``upload`` (``checked`` says what ``files.check`` found, checked here
    if not given), or ``kept``, a file kept for the actor from their last try (see
    ``evidence.staging``). A ``source`` not saved yet is proposed by the actor with
    the item (see ``Source.propose``); the caller has validated it.

    Raises PermissionDenied if the actor may not add evidence to this case now,
    ValidationError for bad fields and UploadRejected for a refused file; in each
    case nothing is stored.
    """
    check_may_add_evidence(actor, case)
    source = fields.get("source")
    item = EvidenceItem(case=case, added_by=actor, **fields)
    item.full_clean(exclude=["file", "added_by", *(["source"] if _proposed(source) else [])])
    if upload is not None and checked is None:
        checked = files.check(upload, original_filename)
    with transaction.atomic():
        _lock_editable(case, actor)
        _propose(source, actor)
        return save_with_file(item, actor, upload, checked, kept)


def edit_evidence(item, actor, *, upload=None, checked=None, kept=None, **fields):
    """Change an evidence item's describing fields (``EvidenceItem.DESCRIBING_FIELDS``)
    and attach a file if it has none, on record: its history and an "edited" custody
    event say who changed what, when. Returns the names of the fields changed ("file"
    for a file attached); with none, nothing is written.

    Raises PermissionDenied if the actor may not change the case's evidence now (it
    was submitted meanwhile, say), ValidationError for bad fields or an attempt to
    replace the file, UploadRejected for a refused file; nothing is changed then.
    """
    unknown = set(fields) - set(EvidenceItem.DESCRIBING_FIELDS)
    if unknown:
        raise ValueError(f"Not an evidence item's describing field: {', '.join(sorted(unknown))}")
    check_may_add_evidence(actor, item.case)
    if upload is not None and checked is None:
        checked = files.check(upload)
    with transaction.atomic():
        _lock_editable(item.case, actor)
        current = EvidenceItem.objects.select_for_update().get(pk=item.pk)
        for name, value in fields.items():
            setattr(current, name, value)
        source = fields.get("source")
        current.full_clean(exclude=["file", "added_by", *(["source"] if _proposed(source) else [])])
        _propose(source, actor)
        save_with_file(current, actor, upload, checked, kept)
    for name in (*fields, "file", "original_filename"):
        setattr(item, name, getattr(current, name))
    attached = ["file"] if upload is not None or kept is not None else []
    return current.changed_fields + attached


def save_with_file(item, actor, upload=None, checked=None, kept=None):
    """Save an evidence item, storing the file it comes with, on record: the one way
    an item and its file arrive or change, from the monitors' pages and from the
    admin. ``checked`` is what ``files.check`` said of ``upload``; ``kept`` a file kept
    for the actor from their last try. An item's file, once attached, is never
    replaced. Sets ``item.changed_fields``: the describing fields an edit changed; an
    edit that changes nothing saves nothing."""
    arriving = item._state.adding
    arriving_file = upload is not None or kept is not None
    with transaction.atomic():
        before = None if arriving else EvidenceItem.objects.select_related("source").get(pk=item.pk)
        if before is not None and before.file_id and arriving_file:
            raise ValidationError("This item already has a file; files are never replaced.")
        if arriving:
            item.added_by = actor
        if upload is not None:
            item.file = files.store(upload, checked)
            item.original_filename = checked.filename
        elif kept is not None:
            staging.take(kept, actor)
            item.file, item.original_filename = kept.file, kept.original_filename
        item.changed_fields = [] if before is None else _changed(before, item)
        if not (arriving or arriving_file or item.changed_fields):
            return item  # nothing to record, not even a version in the history
        item._history_user = actor
        if item.changed_fields:
            item._change_reason = Truncator("Edited " + ", ".join(item.changed_fields)).chars(100)
        item.save()
        if arriving:
            record_arrival(item, actor, kept)
            return item
        if item.changed_fields:
            record(item, CustodyAction.EDITED, actor, note=describe_changes(before, item))
        if arriving_file:
            record(item, CustodyAction.UPLOADED, actor, note=upload_note(item, kept))
    return item


def record_arrival(item, actor, kept=None):
    obtained = f"obtained {item.obtained_on:%d %b %Y}" if item.obtained_on else ""
    record(item, CustodyAction.COLLECTED, actor, note=obtained)
    if item.file_id:
        record(item, CustodyAction.UPLOADED, actor, note=upload_note(item, kept))


def upload_note(item, kept=None):
    stored = item.file
    note = f"{item.original_filename}: {stored.size} bytes, {stored.content_type}"
    if kept is not None:
        # The custody event is written when the item is saved; the bytes arrived earlier.
        sent = timezone.localtime(kept.staged_at)
        note += f"; sent {sent:%d %b %Y %H:%M %Z} and kept for the next try"
    return note


def describe_changes(before, after):
    """Each changed field as "name: old → new" (a long text only by its name)."""
    parts = []
    for name in _changed(before, after):
        field = EvidenceItem._meta.get_field(name)
        if name == "excerpt":
            parts.append(f"{field.verbose_name} changed")
        else:
            old, new = _shown(before, field), _shown(after, field)
            parts.append(f"{field.verbose_name}: {old} → {new}")
    return "; ".join(parts)


def _changed(before, after):
    return [
        name
        for name in EvidenceItem.DESCRIBING_FIELDS
        if (field := EvidenceItem._meta.get_field(name)).value_from_object(before)
        != field.value_from_object(after)
    ]


def _shown(item, field):
    if field.is_relation:
        related = getattr(item, field.name)
        value = related.name if related is not None else ""
    elif field.choices:
        value = getattr(item, f"get_{field.name}_display")()
    else:
        value = field.value_from_object(item)
    return f"“{Truncator(str(value)).chars(80)}”" if value not in (None, "") else "none"


def _proposed(source):
    return source is not None and source._state.adding


def _propose(source, actor):
    """Save a source proposed with the item; another proposal of the same name that
    won the race is explained, not a server error."""
    if not _proposed(source):
        return
    try:
        with transaction.atomic():
            source.propose(actor)
    except IntegrityError:
        raise ValidationError(
            f"“{source.name}” was proposed as a source by someone else a moment ago: "
            "choose it from the list."
        ) from None


def _lock_editable(case, actor):
    """Lock the case row as the workflow does for a transition, so evidence is never
    added or changed after the case has been submitted, however close the two come."""
    current = Case.objects.select_for_update().select_related("created_by").get(pk=case.pk)
    check_may_add_evidence(actor, current)
