"""Re-hashing stored evidence files to detect tampering and bit rot."""

from dataclasses import dataclass

from mailer import mail

from . import custody
from .files import path_of, sha256_of_path
from .models import CustodyAction, EvidenceItem


@dataclass(frozen=True)
class IntegrityFailure:
    item_id: int
    case_reference: str
    title: str
    reason: str

    def __str__(self):
        return f"evidence item {self.item_id} ({self.case_reference}: {self.title}): {self.reason}"


def verify_all(actor=None):
    """Re-hash every stored file and record the outcome on each item citing it.

    Returns the failures: items whose file is missing or whose bytes no longer
    match their digest. A file cited by several items is read once.
    """
    failures = []
    checked_file, reason = None, ""
    items = (
        EvidenceItem.objects.filter(file__isnull=False)
        .select_related("file", "case")
        .order_by("file_id", "pk")
        .iterator(chunk_size=500)
    )
    for item in items:
        if item.file_id != checked_file:
            checked_file, reason = item.file_id, _check(item.file)
        if reason:
            custody.record(item, CustodyAction.INTEGRITY_FAILURE, actor, note=reason)
            failures.append(IntegrityFailure(item.pk, item.case.reference, item.title, reason))
        else:
            custody.record(item, CustodyAction.VERIFIED, actor, note="digest matches")
    return failures


def _check(stored):
    path = path_of(stored)
    if not path.exists():
        return f"the stored file {stored.sha256} is missing"
    actual = sha256_of_path(path)
    if actual != stored.sha256:
        return f"the bytes no longer match: expected {stored.sha256}, found {actual}"
    return ""


def notify_administrators(failures):
    addresses = mail.addresses_of(mail.administrators())
    if addresses:
        mail.send(mail.email_message("integrity_failure", {"failures": failures}, to=addresses))
