"""The case list's filters, search and sort order, all read from the query string so a
filtered list is a link that can be shared."""

import functools

import django_filters
from django import forms
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q
from django.forms.utils import flatatt
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django_countries import countries

from .models import Case, IncidentType, SanctionsProvision, State, WeaponSystem

SEARCH_CONFIG = "english"
# The same expression as the GIN index of migration 0004, so PostgreSQL can use it.
SEARCH_VECTOR = SearchVector("title", "summary", "place_name", config=SEARCH_CONFIG)


class CountrySelect(forms.Select):
    """The select of some 250 countries, written in one pass from names translated
    once per language: through Django's option templates and lazy translations it
    took a third of the case list's time."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = set(self.format_value(value))
        options = "".join(
            f'<option value="{code}"{" selected" if code in selected else ""}>{label}</option>'
            for code, label in country_options(get_language())
        )
        attrs = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html('<select name="{}"{}>{}</select>', name, attrs, mark_safe(options))


@functools.cache
def country_options(language):
    """(code, escaped name) of every country, with the empty choice first."""
    return [("", "---------")] + [(code, escape(name)) for code, name in countries]


class CaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="search")
    # No DISTINCT on any filter: none can match a case twice (state is a column, and a
    # case is linked to a given weapon system or provision once), and DISTINCT would
    # make PostgreSQL compute every matching case's corroboration to show one page.
    state = django_filters.MultipleChoiceFilter(
        choices=State.choices, widget=forms.CheckboxSelectMultiple, distinct=False
    )
    incident_type = django_filters.ChoiceFilter(choices=IncidentType.choices, label="Type")
    incident_from = django_filters.DateFilter(
        field_name="incident_start", lookup_expr="gte", label="Incident from"
    )
    incident_to = django_filters.DateFilter(
        field_name="incident_start", lookup_expr="lte", label="Incident until"
    )
    supplier_country = django_filters.ChoiceFilter(
        choices=countries, label="Supplier", widget=CountrySelect
    )
    recipient_country = django_filters.ChoiceFilter(
        choices=countries, label="Recipient", widget=CountrySelect
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
    # Needs the supporting_sources annotation of evidence.corroboration.with_corroboration.
    min_sources = django_filters.NumberFilter(
        field_name="supporting_sources",
        lookup_expr="gte",
        min_value=0,
        label="At least this many independent supporting sources",
    )
    sort = django_filters.OrderingFilter(
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

    def search(self, queryset, name, value):
        if connection.vendor == "postgresql":
            query = SearchQuery(value, search_type="websearch", config=SEARCH_CONFIG)
            return queryset.annotate(search=SEARCH_VECTOR).filter(search=query)
        return queryset.filter(
            Q(title__icontains=value) | Q(summary__icontains=value) | Q(place_name__icontains=value)
        )
