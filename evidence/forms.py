from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from common.forms import DateInput, RefusesStaleEdits

from . import files, staging
from .models import EvidenceItem, Source


class EvidenceItemForm(forms.ModelForm):
    """An evidence item and, optionally, its file: on the monitors' pages and inline
    on a case in the admin."""

    upload = forms.FileField(
        label="File",
        required=False,
        help_text="PDF, image, video, office document, plain text or CSV. It is stored "
        "unchanged under its SHA-256 digest.",
    )

    class Meta:
        model = EvidenceItem
        fields = EvidenceItem.DESCRIBING_FIELDS
        widgets = {
            "excerpt": forms.Textarea(attrs={"rows": 4}),
            "published_on": DateInput(),
            "obtained_on": DateInput(),
        }


class MonitorEvidenceItemForm(RefusesStaleEdits, EvidenceItemForm):
    """The monitors' evidence form, to add an item or edit one (``instance``).

    The originating source is chosen from the list or proposed with the item, and a
    proposed source stays ungraded until a reviewer grades it. A file sent with a form
    that has another error is kept for ``user``'s next try (``keep_upload``): the form
    then says so and carries the kept file's token, so the file need not be sent
    again. An item's file, once attached, is never replaced: editing an item with a
    file has no file field.
    """

    PROPOSAL = {
        "name": "Name of the new source",
        "kind": "Type of source",
        "country": "Country of the source (optional)",
        "notes": "Notes on the source (optional)",
    }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.checked_upload = None
        self.kept = None
        if self.instance.file_id:
            del self.fields["upload"]
        else:
            self.fields["kept_upload"] = forms.CharField(required=False, widget=forms.HiddenInput)
        self.fields["source"].required = False
        self.fields["source"].help_text += " Not in the list? Propose it below."
        for name, label in self.PROPOSAL.items():
            self.fields[f"new_source_{name}"] = Source._meta.get_field(name).formfield(
                required=False, label=label
            )
        self.proposed_source = None

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload is None:
            return None
        try:
            # Checked with the rest of the form, so a refused file is reported with the
            # other errors and a good one can be kept for the next try.
            self.checked_upload = files.check(upload)
        except files.UploadRejected as error:
            raise ValidationError(str(error)) from error
        return upload

    def clean_kept_upload(self):
        token = self.cleaned_data.get("kept_upload")
        if token:
            # Looked up with the user: another user's token finds nothing.
            self.kept = staging.kept_for(self.user, token)
            if self.kept is None and not self.files.get("upload"):
                self.add_error(
                    "upload",
                    f"The file kept from your last try is no longer available (files are "
                    f"kept {settings.EVIDENCE_STAGING_HOURS} hours); choose it again.",
                )
        return token

    def clean(self):
        cleaned = super().clean()
        proposal = {name: cleaned.get(f"new_source_{name}") for name in self.PROPOSAL}
        chosen = cleaned.get("source")
        if not proposal["name"]:
            if chosen is None and "source" not in self.errors:
                self.add_error("source", "Choose the originating source, or propose a new one.")
        elif chosen is not None:
            self.add_error(
                "new_source_name", "Choose a source from the list or propose a new one, not both."
            )
        else:
            self.proposed_source = self._proposal(Source(**proposal))
        return cleaned

    def _proposal(self, source):
        # Source.clean refuses a name that is already a source's, in any case.
        try:
            source.full_clean(validate_unique=False)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(f"new_source_{name}" if name in self.PROPOSAL else None, messages)
            return None
        return source

    def item_values(self):
        """The item's fields for ``add_evidence`` or ``edit_evidence``, with the
        proposed source if any."""
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        values["source"] = values["source"] or self.proposed_source
        return values

    def file_values(self):
        """The file for ``add_evidence`` or ``edit_evidence``: the one sent now, or
        else the one kept from the last try."""
        if self.checked_upload is not None:
            return {"upload": self.cleaned_data["upload"], "checked": self.checked_upload}
        return {"kept": self.kept} if self.kept is not None else {}

    def keep_upload(self):
        """After an error: keep the file sent with this try (if it passed its checks)
        for the next one, in place of the one kept before; or the one kept before,
        while it lasts. Says so on the file field."""
        if "upload" not in self.fields:
            return
        upload = self.cleaned_data.get("upload") if hasattr(self, "cleaned_data") else None
        if upload is not None and self.checked_upload is not None:
            try:
                self.kept = staging.stage(self.user, upload, self.checked_upload, self.kept)
            except files.UploadRejected as error:
                self.add_error("upload", str(error))
        elif self.kept is not None:
            # Taken by a save in another tab, or expired, since this request began.
            self.kept = staging.kept_for(self.user, self.kept.token)
        if self.kept is not None:
            # The bound field holds its own copy of the help text, made when the form
            # was validated. Help text is rendered as HTML; the name is the uploader's.
            field = self["upload"]
            field.help_text = format_html(
                "<strong>{}</strong> (kept from your last try) — choose another file to "
                "replace it. {}",
                self.kept.original_filename,
                field.help_text,
            )

    def item_fields(self):
        return [
            field
            for field in self
            if not field.name.startswith("new_source_") and field.name != "kept_upload"
        ]

    def proposal_fields(self):
        return [self[f"new_source_{name}"] for name in self.PROPOSAL]
