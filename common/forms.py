import hashlib

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict


class DateInput(forms.DateInput):
    # The browser's own date picker: keyboard-usable and right on a phone.
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class FilteredCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes for a long list (some 250 countries) that keep the choice in sight:
    the ticked ones are listed above the list, and a box filters the list as one types.

    Without JavaScript it is the list of checkboxes, with what was chosen when the page
    was made listed above it. The script (a file of this site, no inline code, as the
    CSP requires) shows the filter box, filters and keeps the list of chosen ones up to
    date. It works on the site's pages and in the admin alike.
    """

    template_name = "common/widgets/filtered_checkboxes.html"

    class Media:
        js = ["js/filtered-checkboxes.js"]
        css = {"all": ["css/filtered-checkboxes.css"]}

    def __init__(self, attrs=None, choices=(), *, items="countries", none_chosen="none"):
        super().__init__(attrs, choices)
        self.items = items
        self.none_chosen = none_chosen

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            items=self.items,
            none_chosen=self.none_chosen,
            chosen=[
                option["label"]
                for _, options, _ in context["widget"]["optgroups"]
                for option in options
                if option["selected"]
            ],
        )
        return context


class OpenedAsField(forms.CharField):
    """The digest ``RefusesStaleEdits`` puts on its page: no value of the row, so never
    a change to it."""

    widget = forms.HiddenInput

    def has_changed(self, initial, data):
        return False


class RefusesStaleEdits:
    """A ModelForm mixin for editing a row on a page: a save made from a page opened
    before someone else changed the row is refused, not written over their change.

    The page carries a digest of the row's fields as it showed them (``opened_as``); at
    submit the row is read again and compared. On a mismatch the form keeps what was
    typed and now carries the new digest, so submitting again, having looked, saves it
    over theirs. A form bound without the digest (the API, an import) is not checked:
    it sends only what it changes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["opened_as"] = OpenedAsField(
                required=False, label="", initial=self.row_digest()
            )

    def row_digest(self):
        values = model_to_dict(self.instance, fields=self._meta.fields)
        values = {
            name: sorted(related.pk for related in value) if isinstance(value, list) else value
            for name, value in values.items()
        }
        return hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()[:32]

    def clean(self):
        cleaned = super().clean()
        opened_as = cleaned.get("opened_as")
        if opened_as and opened_as != (now := self.row_digest()):
            self.data = self.data.copy()
            self.data[self.add_prefix("opened_as")] = now
            name = self.instance._meta.verbose_name
            raise ValidationError(
                f"This {name} was changed by someone else after you opened this page, so "
                f"your changes are not saved: saving them would undo theirs. What you typed "
                f"is still below. Open the {name} in another tab to see it as it is now, "
                "then save again to keep your version."
            )
        return cleaned
