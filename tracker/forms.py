import re

from django import forms

from common.forms import DateInput, RefusesStaleEdits

from . import duplicates
from .filters import CountrySelect
from .models import Case, covered_days

# What says which incident a case reports: an edit that changes none of them is not
# checked for duplicates again.
INCIDENT_FIELDS = (
    "title",
    "summary",
    "date_precision",
    "incident_start",
    "incident_end",
    "place_name",
    "country",
    "weapon_systems",
)


# CR LF, a lone CR, a vertical tab (Word's line break) and a form feed.
LINE_BREAKS = re.compile("\r\n|[\r\v\f]")
# The control characters XML, and so an XLSX cell, cannot hold, NUL aside (every text
# field refuses it).
CONTROL_CHARACTERS = re.compile("[\x01-\x08\x0e-\x1f]")
# The longest case text (a summary) the forms take: its CSV or JSON Lines export, every
# character escaped twice at worst, stays within the line an import reads
# (exchange.reading.MAX_LINE_CHARS, 1,000,000). A longer report is evidence, as a file.
CASE_TEXT_MAX_CHARS = 400_000


class CleansCaseText:
    """What every form that writes a case does to its text, the admin's included."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A case saved before its text was cleaned so (CR LF kept) compares as it would
        # be saved now: its untouched export imports back as no change.
        for name, value in self.initial.items():
            if isinstance(value, str):
                self.initial[name] = LINE_BREAKS.sub("\n", value)

    def clean(self):
        # Browsers send a textarea's line breaks as CR LF; the API and an import may
        # send a lone CR. Kept as LF, the text reads the same in every export: an XLSX
        # cell cannot hold a CR (XML reads CR LF, and a lone CR, as LF), so an
        # untouched XLSX export would otherwise import back as a change.
        # A line or page break pasted from a word processor (VT, FF) is a line break
        # too. Any other control character is refused, as NUL is: no XLSX cell can
        # hold one, and an export would show it as "\ufffd", a change once imported.
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if not isinstance(value, str):
                continue
            value = LINE_BREAKS.sub("\n", value)
            if len(value) > CASE_TEXT_MAX_CHARS:
                self.add_error(
                    name,
                    f"It has {len(value):,} characters; a case's text holds at most "
                    f"{CASE_TEXT_MAX_CHARS:,}. Add a longer report as evidence, as a file.",
                )
            elif control := CONTROL_CHARACTERS.search(value):
                self.add_error(
                    name,
                    f"It holds a control character (U+{ord(control.group()):04X}), which a "
                    "spreadsheet cell cannot hold: remove it.",
                )
            else:
                cleaned[name] = value
        return cleaned


class CaseForm(CleansCaseText, RefusesStaleEdits, forms.ModelForm):
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
            # A form shown again (after an error, or with possible duplicates) would
            # render the three lists of 250 countries afresh.
            "country": CountrySelect(kept_as="case form"),
            "supplier_country": CountrySelect(kept_as="case form"),
            "recipient_country": CountrySelect(kept_as="case form"),
            "weapon_systems": forms.CheckboxSelectMultiple,
            "sanctions_provisions": forms.CheckboxSelectMultiple,
        }

    def possible_duplicates(self, user):
        """The cases ``user`` can see that may report the incident of this valid form
        (``tracker.duplicates``): for a new case always, for an edit only when it changes
        what says which incident it is."""
        if self.instance.pk and not set(self.changed_data) & set(INCIDENT_FIELDS):
            return []
        values = self.cleaned_data
        start, end = covered_days(
            values["incident_start"], values.get("incident_end"), values["date_precision"]
        )
        return duplicates.possible_duplicates(
            user=user,
            title=values["title"],
            summary=values["summary"],
            incident_start=start,
            incident_end=end,
            place_name=values["place_name"],
            country=values["country"],
            weapon_systems=values.get("weapon_systems") or [],
            exclude_pk=self.instance.pk,
        )


class StepCommentForm(forms.Form):
    """The comment a monitor may write with a step taken on the case page (submitting,
    withdrawing): checked as any text field is, for characters no database can keep."""

    comment = forms.CharField(required=False)
