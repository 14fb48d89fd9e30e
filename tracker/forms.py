from django import forms

from evidence.models import EvidenceItem

from .models import Case


class DateInput(forms.DateInput):
    # The browser's own date picker: keyboard-usable and right on a phone.
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class CaseForm(forms.ModelForm):
    class Meta:
        model = Case
        fields = [
            "title",
            "summary",
            "incident_type",
            "incident_start",
            "incident_end",
            "date_precision",
            "place_name",
            "country",
            "latitude",
            "longitude",
            "supplier_country",
            "recipient_country",
            "weapon_systems",
            "reported_quantity",
            "sanctions_provisions",
        ]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 5}),
            "incident_start": DateInput(),
            "incident_end": DateInput(),
            "weapon_systems": forms.CheckboxSelectMultiple,
            "sanctions_provisions": forms.CheckboxSelectMultiple,
        }


class EvidenceForm(forms.ModelForm):
    upload = forms.FileField(
        label="File",
        required=False,
        help_text="Optional: a document, image or video. It is stored unchanged with its "
        "SHA-256 digest.",
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
