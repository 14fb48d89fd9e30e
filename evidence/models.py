import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, router, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from common import versioned_cache
from tracker.models import Case, has_happened, lists_changed


class SourceKind(models.TextChoices):
    GOVERNMENT = "government", "Government body"
    ARMED_FORCES = "armed_forces", "Armed forces"
    INTELLIGENCE = "intelligence", "Intelligence service"
    INTERGOVERNMENTAL = "intergovernmental", "Intergovernmental body"
    SPOKESPERSON = "spokesperson", "Spokesperson"
    NEWS_OUTLET = "news_outlet", "News outlet"
    RESEARCH_GROUP = "research_group", "Research group"
    OTHER = "other", "Other"


class Reliability(models.TextChoices):
    """Source reliability on the Admiralty scale."""

    A = "A", "A – completely reliable"
    B = "B", "B – usually reliable"
    C = "C", "C – fairly reliable"
    D = "D", "D – not usually reliable"
    E = "E", "E – unreliable"
    F = "F", "F – reliability cannot be judged"


class Credibility(models.IntegerChoices):
    """Information credibility on the Admiralty scale."""

    CONFIRMED = 1, "1 – confirmed by other sources"
    PROBABLE = 2, "2 – probably true"
    POSSIBLE = 3, "3 – possibly true"
    DOUBTFUL = 4, "4 – doubtful"
    IMPROBABLE = 5, "5 – improbable"
    UNKNOWN = 6, "6 – cannot be judged"


class EvidenceKind(models.TextChoices):
    STATEMENT = "statement", "Statement"
    OFFICIAL_REPORT = "official_report", "Official report"
    MEDIA_REPORT = "media_report", "Media report"
    DOCUMENT = "document", "Document"
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    SATELLITE = "satellite", "Satellite imagery"
    FORENSIC = "forensic", "Physical or forensic finding"
    TESTIMONY = "testimony", "Testimony"


class Stance(models.TextChoices):
    SUPPORTS = "supports", "Supports"
    REFUTES = "refutes", "Refutes"
    CONTEXT = "context", "Context"


class Source(models.Model):
    """Who makes a claim: a government body, an armed force, an outlet, a person.

    Anyone who may add sources proposes one; it stays ungraded (F) until a reviewer
    grades it, so nobody makes their own case look corroborated.
    """

    name = models.CharField(max_length=300, unique=True)
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    country = CountryField(blank=True)
    reliability = models.CharField(
        max_length=1,
        choices=Reliability.choices,
        default=Reliability.F,
        help_text="Graded by reviewers. A proposed source stays F, not yet graded, until a "
        "reviewer chooses its grade.",
    )
    notes = models.TextField(blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        editable=False,
        help_text="Empty for sources added before proposals were recorded.",
    )
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        editable=False,
        help_text="Empty with a grading time: graded before graders were recorded.",
    )
    graded_at = models.DateTimeField(
        null=True, editable=False, help_text="Empty: proposed, not yet graded by a reviewer."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        permissions = [("grade_source", "Can grade the reliability of a source")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reliability=Reliability.F) | models.Q(graded_at__isnull=False),
                name="evidence_source_graded_reliability",
                violation_error_message="Only a reviewer's grading gives a source a grade.",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.reliability if self.is_graded else 'not yet graded'})"

    def save(self, *args, **kwargs):
        # The cases citing the source are recounted by evidence.corroboration's receiver
        # of post_save, which Django sends after its own transaction: this one holds both.
        with _atomic(self, kwargs):
            super().save(*args, **kwargs)

    @property
    def is_graded(self):
        return self.graded_at is not None

    def clean(self):
        # Names differing only in capitals would make one source two, counted twice.
        existing = Source.objects.filter(name__iexact=self.name).exclude(pk=self.pk).first()
        if self.name and existing:
            raise ValidationError(
                {"name": f"“{existing.name}” is already a source: choose it from the list."}
            )

    def propose(self, by):
        """Save this new source as proposed by ``by``: ungraded until a reviewer grades it."""
        if not by.has_perm("evidence.add_source"):
            raise PermissionDenied("You may not propose sources.")
        self.proposed_by = by
        self.reliability, self.graded_by, self.graded_at = Reliability.F, None, None
        self.save()

    def grade(self, reliability, by):
        """Set the reliability as ``by``'s judgement, on record; the caller saves."""
        if not by.has_perm("evidence.grade_source"):
            raise PermissionDenied("Only reviewers grade sources.")
        self.reliability, self.graded_by, self.graded_at = reliability, by, timezone.now()


# What the evidence form offers as sources (its blank markup is kept in the cache,
# templates/tracker/evidence_form.html) changes when a source is added, renamed,
# graded or deleted: each shows as "name (grade)".
SOURCES_CACHE = "sources"


@receiver(post_save, sender=Source)
@receiver(post_delete, sender=Source)
def sources_changed(sender, using, **kwargs):
    versioned_cache.bump_on_commit(SOURCES_CACHE, using=using)
    # The search reads sources' names (tracker.models.CASE_LISTS).
    lists_changed(using)


class StoredFile(models.Model):
    """The bytes of an evidence file, named by their SHA-256 and never changed.

    The same bytes uploaded twice are one StoredFile, shared by the items citing it.
    """

    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=100, help_text="Detected from the bytes.")
    stored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-stored_at"]

    def __str__(self):
        return f"{self.sha256[:12]}… ({self.content_type}, {self.size} bytes)"

    @property
    def relative_path(self):
        return f"{self.sha256[:2]}/{self.sha256[2:4]}/{self.sha256}"


class EvidenceItemQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(case__in=Case.objects.visible_to(user))


class EvidenceItem(models.Model):
    """One piece of evidence on a case, attributed to the source that originated it."""

    # What its monitor fills in and may change while the case is editable; the file,
    # once attached, is never replaced, and who added it when is fixed.
    DESCRIBING_FIELDS = (
        "title",
        "source",
        "reporting_outlet",
        "kind",
        "stance",
        "credibility",
        "excerpt",
        "url",
        "published_on",
        "obtained_on",
    )

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence")
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="evidence",
        verbose_name="originating source",
        help_text="Who made the claim. Reuters reporting UN monitors' finding: the UN monitors.",
    )
    reporting_outlet = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="reported_evidence",
        null=True,
        blank=True,
        help_text="The publication it was found in, if not the source itself.",
    )
    kind = models.CharField(max_length=20, choices=EvidenceKind.choices)
    stance = models.CharField(max_length=10, choices=Stance.choices)
    credibility = models.PositiveSmallIntegerField(
        "information credibility", choices=Credibility.choices, default=Credibility.UNKNOWN
    )
    title = models.CharField(max_length=300)
    excerpt = models.TextField(blank=True)
    url = models.URLField("link", max_length=1000, blank=True)
    published_on = models.DateField(null=True, blank=True, validators=[has_happened])
    obtained_on = models.DateField(null=True, blank=True, validators=[has_happened])
    file = models.ForeignKey(
        StoredFile, on_delete=models.PROTECT, related_name="items", null=True, blank=True
    )
    original_filename = models.CharField(max_length=255, blank=True, editable=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords()
    objects = EvidenceItemQuerySet.as_manager()

    class Meta:
        ordering = ["case", "stance", "-published_on", "pk"]
        indexes = [models.Index(fields=["case", "stance", "source"])]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # Its case's stored corroboration is recounted by evidence.corroboration's
        # receiver of post_save, in this transaction (see Source.save). A delete needs
        # nothing: Django sends post_delete inside its own transaction.
        with _atomic(self, kwargs):
            super().save(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        item = super().from_db(db, field_names, values, **kwargs)
        # An item moved to another case leaves both to be recounted.
        item.loaded_case_id = item.__dict__.get("case_id")
        return item


def _atomic(instance, save_kwargs):
    """The save's transaction: its own outside any, none of its own (no savepoint)
    inside one."""
    using = save_kwargs.get("using") or router.db_for_write(type(instance), instance=instance)
    return transaction.atomic(using=using, savepoint=False)


@receiver(post_save, sender=EvidenceItem)
@receiver(post_delete, sender=EvidenceItem)
def case_lists_changed(sender, using, **kwargs):
    # The search reads the items' titles and excerpts, and the lists filter by the
    # corroboration they add up to (tracker.models.CASE_LISTS).
    lists_changed(using)


class CustodyAction(models.TextChoices):
    COLLECTED = "collected", "Collected"
    UPLOADED = "uploaded", "Uploaded"
    EDITED = "edited", "Edited"
    VIEWED = "viewed", "Viewed"
    DOWNLOADED = "downloaded", "Downloaded"
    EXPORTED = "exported", "Exported"
    VERIFIED = "verified", "Verified"
    INTEGRITY_FAILURE = "integrity_failure", "Integrity failure"


class CustodyEvent(models.Model):
    """Who did what to an evidence item, when. Append-only: on PostgreSQL a trigger
    refuses UPDATE and DELETE, so not even raw SQL can rewrite the chain."""

    item = models.ForeignKey(EvidenceItem, on_delete=models.PROTECT, related_name="custody")
    action = models.CharField(max_length=20, choices=CustodyAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="Empty for the system's own checks.",
    )
    at = models.DateTimeField(default=timezone.now)
    sha256 = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["item", "at"])]

    def __str__(self):
        return (
            f"{self.get_action_display()} by {self.actor or 'system'} at {self.at:%Y-%m-%d %H:%M}"
        )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Custody events are never changed once written.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Custody events are never deleted.")


def staging_token():
    return secrets.token_urlsafe(32)


class StagedUploadQuerySet(models.QuerySet):
    def live(self, now=None):
        return self.filter(expires_at__gt=now or timezone.now())


class StagedUpload(models.Model):
    """A checked file kept for its uploader's next try after the evidence form it came
    with had an error, so they need not choose and send it again.

    The file is already in the store under its digest, but no item cites it yet. Only
    its uploader can use it, by its token, until it expires
    (``EVIDENCE_STAGING_HOURS``); the token is meaningless to anyone else. Expired
    ones are removed with their file (``evidence.staging.discard_expired``).
    """

    token = models.CharField(max_length=64, unique=True, default=staging_token, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # PROTECT: a file someone will use on their next try is never removed as an orphan.
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="staged")
    original_filename = models.CharField(max_length=255)
    staged_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    objects = StagedUploadQuerySet.as_manager()

    class Meta:
        ordering = ["staged_at", "pk"]

    def __str__(self):
        until = f"{self.expires_at:%Y-%m-%d %H:%M}"
        return f"{self.original_filename}, kept for {self.user} until {until}"


class IntegrityRun(models.Model):
    """One pass of the integrity check over the store, split into chunks of stored
    files (``IntegrityChunk``) that workers check in parallel. A run interrupted (a
    worker killed, the command stopped) is resumed, not started again: only its
    chunks not yet checked are hashed (see ``evidence.integrity``)."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when a newer run replaced this one before it finished (it was too old to
    # resume): its checked chunks stay on record.
    abandoned_at = models.DateTimeField(null=True, blank=True)
    # Started by beat: the administrators are mailed when it finds failures.
    scheduled = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"integrity check started {self.started_at:%Y-%m-%d %H:%M}"


class IntegrityChunk(models.Model):
    """The stored files with ids ``first_file_id``..``last_file_id`` that items cite,
    checked in one task. ``checked_at`` is written in the same transaction as the
    chunk's custody events, so a chunk is either wholly on record or not at all."""

    run = models.ForeignKey(IntegrityRun, on_delete=models.CASCADE, related_name="chunks")
    first_file_id = models.BigIntegerField()
    last_file_id = models.BigIntegerField()
    files = models.PositiveIntegerField()
    bytes = models.BigIntegerField()
    checked_at = models.DateTimeField(null=True, blank=True)
    # Each item that failed: item_id, case_reference, title, reason.
    failures = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "first_file_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "first_file_id"], name="one_chunk_per_range")
        ]

    def __str__(self):
        return f"stored files {self.first_file_id}–{self.last_file_id} ({self.files})"
