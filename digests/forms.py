from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from tracker.models import IncidentType

from .models import Subscription
from .weekly import FIRST_PERIOD_END, LAST_PERIOD_END


class SubscriptionForm(forms.ModelForm):
    incident_types = forms.MultipleChoiceField(
        choices=IncidentType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for every type.",
    )

    class Meta:
        model = Subscription
        fields = ["email", "user", "active", "incident_types", "countries"]


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
