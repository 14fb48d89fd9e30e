from django import forms
from django.core.exceptions import ValidationError

from common.forms import DateInput

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
        fields = [
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
        ]
        widgets = {
            "excerpt": forms.Textarea(attrs={"rows": 4}),
            "published_on": DateInput(),
            "obtained_on": DateInput(),
        }


class MonitorEvidenceItemForm(EvidenceItemForm):
    """The monitors' evidence form: the originating source is chosen from the list or
    proposed with the item, and a proposed source stays ungraded until a reviewer
    grades it."""

    PROPOSAL = {
        "name": "Name of the new source",
        "kind": "Type of source",
        "country": "Country of the source (optional)",
        "notes": "Notes on the source (optional)",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].required = False
        self.fields["source"].help_text += " Not in the list? Propose it below."
        for name, label in self.PROPOSAL.items():
            self.fields[f"new_source_{name}"] = Source._meta.get_field(name).formfield(
                required=False, label=label
            )
        self.proposed_source = None

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
        """The item's fields for ``add_evidence``, with the proposed source if any."""
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        values["source"] = values["source"] or self.proposed_source
        return values

    def item_fields(self):
        return [field for field in self if not field.name.startswith("new_source_")]

    def proposal_fields(self):
        return [self[f"new_source_{name}"] for name in self.PROPOSAL]
