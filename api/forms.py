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


class AdminTokenForm(forms.ModelForm):
    """The admin's form to issue a token: an expiry already past would make a token
    that is refused from its first use, shown once and never usable."""

    class Meta:
        model = ApiToken
        fields = ["user", "name", "scope", "expires_at"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError(
                "This time is already past, so the token would be refused from its first "
                "use. Choose a later one, or leave it empty for a token that lasts until "
                "revoked."
            )
        return expires_at
