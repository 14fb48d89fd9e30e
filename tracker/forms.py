from django import forms

from common.forms import DateInput

from .models import Case


class CaseForm(forms.ModelForm):
    class Meta:
        model = Case
        fields = [
            "title",
            "summary",
            "incident_type",
            # Precision first: it says what the dates below mean.
            "date_precision",
            "incident_start",
            "incident_end",
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
