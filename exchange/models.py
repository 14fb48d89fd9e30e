from django.conf import settings
from django.db import models
from django.urls import reverse


class Status(models.TextChoices):
    # The preview: every row checked, nothing saved.
    PREVIEW_QUEUED = "preview_queued", "Waiting to be checked"
    PREVIEWING = "previewing", "Being checked"
    PREVIEWED = "previewed", "Checked: confirm to import"
    # The file itself could not be read: nothing to confirm.
    REFUSED = "refused", "Refused"
    APPLY_QUEUED = "apply_queued", "Waiting to be imported"
    APPLYING = "applying", "Being imported"
    APPLIED = "applied", "Imported"
    # Confirmed, but a row failed when applied: nothing was changed.
    FAILED = "failed", "Failed: nothing changed"


RUNNING = (Status.PREVIEW_QUEUED, Status.PREVIEWING, Status.APPLY_QUEUED, Status.APPLYING)


class Action(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    UNCHANGED = "unchanged", "Unchanged"
    ERROR = "error", "Error"


class ImportJob(models.Model):
    """One uploaded file of cases: its preview, its confirmation and what became of
    each row. Only its importer (and administrators) see it."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="imports"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The name as uploaded, for the importer's eyes only; the file is stored as
    # IMPORT_ROOT/<stored_name>, a name the server chose.
    original_filename = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=100, editable=False)
    size = models.PositiveBigIntegerField()
    # Blank for imports uploaded before it was kept.
    sha256 = models.CharField(
        "SHA-256",
        max_length=64,
        blank=True,
        editable=False,
        help_text="Of the file's bytes: the same file uploaded again is known as such.",
    )
    create_missing = models.BooleanField(
        "create the missing reference values",
        default=False,
        help_text="Weapon systems and sanctions provisions the file names that do not "
        "exist yet are created (and listed in the preview) instead of being errors.",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PREVIEW_QUEUED)
    # Why the file as a whole was refused, or what went wrong applying it.
    message = models.TextField(blank=True)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    # The weapon systems and provisions the import creates (preview) or created.
    new_reference_values = models.JSONField(default=list, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_by", "sha256"], name="import_same_file")]

    def __str__(self):
        return f"Import {self.pk}: {self.original_filename}"

    def get_absolute_url(self):
        return reverse("imports:job", args=[self.pk])

    @property
    def is_running(self):
        return self.status in RUNNING

    @property
    def changed(self):
        return self.created + self.updated

    @property
    def may_confirm(self):
        """A preview that changes something, without errors, may be applied, once."""
        return self.status == Status.PREVIEWED and not self.errors and self.changed > 0


class ImportRow(models.Model):
    """What the preview (then the import) made of one row of the file."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="results")
    number = models.PositiveIntegerField(help_text="The row's number in the file (1: header).")
    action = models.CharField(max_length=10, choices=Action.choices)
    # The case the row created or matched, as its reference (a created case's only once
    # applied: a preview saves nothing).
    reference = models.CharField(max_length=20, blank=True)
    # [{"column": header or "", "message": "..."}]: errors, or for an update the
    # columns that change.
    messages = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="one_result_per_import_row")
        ]

    def __str__(self):
        return f"Row {self.number}: {self.action}"
