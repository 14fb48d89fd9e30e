from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from .digests import FIRST_PERIOD_END, LAST_PERIOD_END
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


class DigestPreviewForm(forms.Form):
    """The query string of a digest preview: which week, and HTML or text."""

    period_end = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[MinValueValidator(FIRST_PERIOD_END), MaxValueValidator(LAST_PERIOD_END)],
        error_messages={"invalid": "Write the date as YYYY-MM-DD, such as 2024-10-14."},
    )
    format = forms.ChoiceField(choices=[("html", "HTML"), ("text", "text")], required=False)

    def clean_period_end(self):
        return self.cleaned_data["period_end"] or timezone.localdate()
