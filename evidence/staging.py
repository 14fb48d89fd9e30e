"""Files kept for a retry: when an evidence form comes back with an error, the file
sent with it (already checked) is stored under its digest and kept for its uploader,
so the next try need not send it again.

A kept file is a ``StagedUpload``: tied to the user who sent it and found only by its
token together with that user, so another user's token does nothing. It lasts
``EVIDENCE_STAGING_HOURS``; ``discard_expired`` (hourly, from beat) removes the expired
ones and their files, unless an item cites the same bytes by then.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from . import files, orphans
from .models import StagedUpload


def stage(user, upload, checked, replacing=None):
    """Store a checked upload and keep it for ``user``'s next try, in place of the
    file kept for them before (``replacing``), if any."""
    now = timezone.now()
    with transaction.atomic():
        stored = files.store(upload, checked)
        if replacing is not None:
            expire(replacing, now)
        return StagedUpload.objects.create(
            user=user,
            file=stored,
            original_filename=checked.filename,
            staged_at=now,
            expires_at=now + timedelta(hours=settings.EVIDENCE_STAGING_HOURS),
        )


def kept_for(user, token):
    """The file kept for ``user`` under ``token``, or None: expired, used already, or
    not theirs."""
    if not token or not user.is_authenticated:
        return None
    return StagedUpload.objects.live().select_related("file").filter(user=user, token=token).first()


def take(kept, user):
    """Take a kept file for the item ``user`` is saving, in that item's transaction:
    it is kept no longer. Raises ValidationError if it is gone meanwhile (used in
    another tab, or expired)."""
    if not StagedUpload.objects.live().filter(pk=kept.pk, user=user).delete()[0]:
        raise ValidationError(
            f"The file {kept.original_filename} kept from your last try is no longer "
            "available; choose it again."
        )


def expire(kept, now=None):
    StagedUpload.objects.filter(pk=kept.pk).update(expires_at=now or timezone.now())


def discard_expired(now=None):
    """Forget the expired kept files and remove each from the store unless an item
    cites its bytes or someone else keeps them. Returns (kept files forgotten, files
    removed)."""
    now = now or timezone.now()
    expired = dict(StagedUpload.objects.filter(expires_at__lte=now).values_list("pk", "file"))
    StagedUpload.objects.filter(pk__in=expired).delete()
    removed = 0
    for stored in orphans.unused_files(now).filter(pk__in=set(expired.values())):
        orphan = orphans.Orphan(
            files.path_of(stored),
            f"kept file {stored.sha256} ({filesizeformat(stored.size)}) expired",
            stored,
        )
        removed += orphans.remove(orphan, now)
    return len(expired), removed
