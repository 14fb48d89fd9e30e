from datetime import timedelta

from django import forms
from django.utils import timezone

from .models import ApiToken

LIFETIMES = [("30", "30 days"), ("90", "90 days"), ("365", "a year"), ("", "never (until revoked)")]


class TokenForm(forms.ModelForm):
    expires_in = forms.TypedChoiceField(
        label="Expires after",
        choices=LIFETIMES,
        initial="90",
        required=False,
        coerce=int,
        empty_value=None,
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scope"]
        widgets = {"scope": forms.RadioSelect}

    def expires_at(self):
        days = self.cleaned_data["expires_in"]
        return timezone.now() + timedelta(days=days) if days else None
