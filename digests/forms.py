from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from common.forms import FilteredCheckboxes
from tracker.models import IncidentType

from .models import Subscription
from .weekly import FIRST_PERIOD_END, LAST_PERIOD_END


class SubscriptionForm(forms.ModelForm):
    """A subscription as administrators manage it in the admin."""

    incident_types = forms.MultipleChoiceField(
        choices=IncidentType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for every type.",
    )

    class Meta:
        model = Subscription
        fields = ["email", "user", "active", "incident_types", "countries"]
        # Some 250 countries: the ticked ones are listed above the list, which filters
        # as one types; a multiple select would hide what is chosen off screen.
        widgets = {"countries": FilteredCheckboxes(items="countries", none_chosen="every country")}
        help_texts = {
            "countries": "Where the incident happened. Leave all unticked for every country."
        }


class OwnSubscriptionForm(SubscriptionForm):
    """A signed-in user's own subscription: the address is their account's."""

    class Meta(SubscriptionForm.Meta):
        fields = ["active", "incident_types", "countries"]
        labels = {"active": "Send me the weekly digest"}
        help_texts = {
            **SubscriptionForm.Meta.help_texts,
            "active": "Untick to pause it; your choices below are kept.",
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
