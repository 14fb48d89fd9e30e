from django import forms

from . import two_factor


class CodeField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            max_length=32,
            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
            **kwargs,
        )


class SignInCodeForm(forms.Form):
    """Step two of signing in: a code from the authenticator app or a recovery code."""

    code = CodeField(
        label="Code",
        help_text="The six digits your authenticator app shows, or one of your recovery codes.",
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.device = None

    def clean_code(self):
        code = self.cleaned_data["code"]
        self.device = two_factor.device_accepting(self.user, code)
        if self.device is None:
            raise forms.ValidationError(
                "That code is wrong, expired or already used. Codes from the app change "
                "every 30 seconds; each recovery code works once."
            )
        return code


class EnrolmentForm(forms.Form):
    """Confirms that the authenticator app holds the secret: the first code it shows."""

    code = CodeField(label="Code from the app", help_text="Six digits.")

    def __init__(self, device, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not self.device.verify_token(code):
            raise forms.ValidationError(
                "That is not the code the app shows now. Check that it scanned this page's "
                "QR code (or holds the secret below) and that the phone's clock is right."
            )
        return code
