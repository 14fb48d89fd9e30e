from django import forms


class DateInput(forms.DateInput):
    # The browser's own date picker: keyboard-usable and right on a phone.
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)
