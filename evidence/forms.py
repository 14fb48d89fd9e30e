from django import forms

from tracker.forms import DateInput

from .models import EvidenceItem


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
