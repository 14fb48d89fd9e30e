"""The case list's filters, search and sort order, all read from the query string so a
filtered list is a link that can be shared."""

import functools

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import Truncator
from django.utils.translation import get_language
from django_countries import countries

from common.forms import DateInput

from .models import Case, IncidentType, SanctionsProvision, State, WeaponSystem


def country_choices():
    return countries_in(get_language())


@functools.cache
def countries_in(language):
    """Every (code, name), sorted by name in ``language``. The countries object
    translates and sorts its 250 names each time a form is checked, and a form copies
    a list of choices for each request; a callable is neither."""
    return list(countries)


@functools.cache
def country_codes(language):
    return frozenset(code for code, _ in countries_in(language))


class CountrySelect(forms.Select):
    """Django's select of some 250 countries, its markup kept once made for a language
    and a chosen country (or none). Each option goes through Django's option template:
    the two country selects took half the case list's time, and their markup changes
    with nothing else. A value that is no country is rendered anew, never kept.

    ``kept_as`` names the form: the case form's selects offer the same countries as
    the filters' under the same names, but not the same empty choice."""

    rendered = {}

    def __init__(self, attrs=None, choices=(), kept_as="case filter"):
        super().__init__(attrs, choices)
        self.kept_as = kept_as

    def render(self, name, value, attrs=None, renderer=None):
        language = get_language()
        if value not in ("", None) and value not in country_codes(language):
            return super().render(name, value, attrs, renderer)
        every_attr = tuple(sorted({**self.attrs, **(attrs or {})}.items()))
        key = (self.kept_as, name, value, language, every_attr)
        if key not in self.rendered:
            self.rendered[key] = super().render(name, value, attrs, renderer)
        return self.rendered[key]


class CountryField(django_filters.fields.ChoiceField):
    """A country code, checked against the set of codes: Django's ChoiceField checks a
    value by going through every choice, some 250 countries, for each request."""

    def valid_value(self, value):
        return str(value) in country_codes(get_language())


class CountryFilter(django_filters.ChoiceFilter):
    field_class = CountryField


class SortFilter(django_filters.OrderingFilter):
    """django-filter's ordering, but ``sort=,`` (no column named) keeps the list's own
    order: the library would drop every order, and pages would no longer follow on."""

    def filter(self, qs, value):
        return super().filter(qs, value) if any(value or ()) else qs


class DateField(forms.DateField):
    """A date that, refused, says what it was given: a date input shows nothing of a
    value that is no date (a link with ``incident_from=2024-02-30``), so the message
    has to."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as error:
            raise ValidationError(
                "“%(value)s” is not a date. Enter one as YYYY-MM-DD, e.g. 2024-01-31.",
                code="invalid",
                params={"value": Truncator(value).chars(30)},
            ) from error


class DateFilter(django_filters.DateFilter):
    field_class = DateField


class CaseFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("incident_from"), cleaned.get("incident_to")
        if first and last and first > last:
            self.add_error("incident_to", "This is before the “Incident from” date; swap the two.")
        return cleaned


class CaseFilter(django_filters.FilterSet):
    # No search needs more; tracker.search reads at most its first 32 words anyway.
    q = django_filters.CharFilter(label="Search", method="search", max_length=200)
    # No DISTINCT on any filter: none can match a case twice (state is a column, and a
    # case is linked to a given weapon system or provision once), and DISTINCT would
    # make PostgreSQL compute every matching case's corroboration to show one page.
    state = django_filters.MultipleChoiceFilter(
        choices=State.choices, widget=forms.CheckboxSelectMultiple, distinct=False
    )
    incident_type = django_filters.ChoiceFilter(choices=IncidentType.choices, label="Type")
    # A case counts when any part of its incident falls in the range asked for: the
    # shipments of September 2023 – February 2024 are among January 2024's cases.
    incident_from = DateFilter(
        method="incident_from_filter",
        label="Incident from",
        help_text="Any part of the incident on or after this day (YYYY-MM-DD).",
        widget=DateInput,
    )
    incident_to = DateFilter(
        method="incident_to_filter",
        label="Incident until",
        help_text="Any part of the incident on or before this day (YYYY-MM-DD).",
        widget=DateInput,
    )
    supplier_country = CountryFilter(
        choices=country_choices, label="Supplier", widget=CountrySelect
    )
    recipient_country = CountryFilter(
        choices=country_choices, label="Recipient", widget=CountrySelect
    )
    weapon_system = django_filters.ModelChoiceFilter(
        field_name="weapon_systems",
        queryset=WeaponSystem.objects.all(),
        label="Weapon system",
        distinct=False,
    )
    sanctions_provision = django_filters.ModelChoiceFilter(
        field_name="sanctions_provisions",
        queryset=SanctionsProvision.objects.all(),
        label="Sanctions provision",
        distinct=False,
    )
    # The count stored on the case (evidence.corroboration), read from its index.
    min_sources = django_filters.NumberFilter(
        field_name="supporting_sources",
        lookup_expr="gte",
        min_value=0,
        label="At least this many independent supporting sources",
    )
    sort = SortFilter(
        fields=[
            ("reference", "reference"),
            ("title", "title"),
            ("incident_type", "type"),
            ("incident_start", "date"),
            ("state", "state"),
            ("supporting_sources", "sources"),
            ("state_changed_at", "changed"),
        ],
        label="Sort by",
    )

    class Meta:
        model = Case
        fields = []
        form = CaseFilterForm

    # Set by ``qs``: the search found more cases than are ranked, listed newest first.
    too_many_to_rank = False

    def get_form_class(self):
        # django-filter builds the form class anew for each FilterSet, every filter's
        # field with it (two of some 250 countries): about half a millisecond of each
        # list page and API request. The fields depend on nothing of the request (no filter's
        # queryset does), so the class is built once for this FilterSet class; each
        # form still gets deep copies of its fields, as Django's forms do.
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            cls._form_class = super().get_form_class()
        return cls._form_class

    @property
    def qs(self):
        # django-filter leaves a value it cannot read out and filters by the rest: a
        # mistyped date would list every case as if it were the answer. An error shows
        # no case at all, next to the message saying what to put right.
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        if not hasattr(self, "_listed"):
            cases = super().qs
            # Relevance only where it can be worked out cheaply; the list says so.
            self.too_many_to_rank = cases.too_many_to_rank()
            self._listed = cases.unranked() if self.too_many_to_rank else cases
        return self._listed

    def incident_from_filter(self, queryset, name, value):
        return queryset.during(first=value)

    def incident_to_filter(self, queryset, name, value):
        return queryset.during(last=value)

    def search(self, queryset, name, value):
        return queryset.search(value)
