"""The case list's filters, search and sort order, all read from the query string so a
filtered list is a link that can be shared."""

import functools

import django_filters
from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django_countries import countries

from .models import Case, IncidentType, SanctionsProvision, State, WeaponSystem


class QuickSelect(forms.Select):
    """A select written in one pass. Django renders every option through a template
    of its own: the filter form's selects took a sixth of the case list's time."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = set(self.format_value(value))
        attrs = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html(
            '<select name="{}"{}>{}</select>', name, attrs, self.options_html(selected)
        )

    def options_html(self, selected):
        return format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (value, " selected" if str(value) in selected else "", label)
                for value, label in self.choices
            ),
        )


class CountrySelect(QuickSelect):
    """Some 250 countries, their names translated and escaped once per language."""

    def options_html(self, selected):
        return mark_safe(
            "".join(
                f'<option value="{code}"{" selected" if code in selected else ""}>{label}</option>'
                for code, label in country_options(get_language())
            )
        )


class QuickCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes written in one pass, in Django's markup (see QuickSelect)."""

    def render(self, name, value, attrs=None, renderer=None):
        checked = set(self.format_value(value))
        element_id = self.build_attrs(self.attrs, attrs).get("id", "")
        boxes = format_html_join(
            "",
            '<div><label{}><input type="checkbox" name="{}" value="{}"{}{}> {}</label></div>',
            (
                (
                    format_html(' for="{}_{}"', element_id, index) if element_id else "",
                    name,
                    option,
                    format_html(' id="{}_{}"', element_id, index) if element_id else "",
                    " checked" if str(option) in checked else "",
                    label,
                )
                for index, (option, label) in enumerate(self.choices)
            ),
        )
        return format_html("<div{}>{}</div>", flatatt({"id": element_id or None}), boxes)


@functools.cache
def country_options(language):
    """(code, escaped name) of every country, with the empty choice first."""
    return [("", "---------")] + [(code, escape(name)) for code, name in countries_in(language)]


def country_choices():
    return countries_in(get_language())


@functools.cache
def countries_in(language):
    """Every (code, name), sorted by name in ``language``. The countries object
    translates and sorts its 250 names each time a form is checked, and a form copies
    a list of choices for each request; a callable is neither."""
    return list(countries)


class SortFilter(django_filters.OrderingFilter):
    """django-filter's ordering, but ``sort=,`` (no column named) keeps the list's own
    order: the library would drop every order, and pages would no longer follow on."""

    def filter(self, qs, value):
        return super().filter(qs, value) if any(value or ()) else qs


class CaseFilter(django_filters.FilterSet):
    # SQLite refuses a LIKE pattern of over 50,000 bytes; no search needs a tenth of this.
    q = django_filters.CharFilter(label="Search", method="search", max_length=200)
    # No DISTINCT on any filter: none can match a case twice (state is a column, and a
    # case is linked to a given weapon system or provision once), and DISTINCT would
    # make PostgreSQL compute every matching case's corroboration to show one page.
    state = django_filters.MultipleChoiceFilter(
        choices=State.choices, widget=QuickCheckboxes, distinct=False
    )
    incident_type = django_filters.ChoiceFilter(
        choices=IncidentType.choices, label="Type", widget=QuickSelect
    )
    incident_from = django_filters.DateFilter(
        field_name="incident_start", lookup_expr="gte", label="Incident from"
    )
    incident_to = django_filters.DateFilter(
        field_name="incident_start", lookup_expr="lte", label="Incident until"
    )
    supplier_country = django_filters.ChoiceFilter(
        choices=country_choices, label="Supplier", widget=CountrySelect
    )
    recipient_country = django_filters.ChoiceFilter(
        choices=country_choices, label="Recipient", widget=CountrySelect
    )
    weapon_system = django_filters.ModelChoiceFilter(
        field_name="weapon_systems",
        queryset=WeaponSystem.objects.all(),
        label="Weapon system",
        distinct=False,
        widget=QuickSelect,
    )
    sanctions_provision = django_filters.ModelChoiceFilter(
        field_name="sanctions_provisions",
        queryset=SanctionsProvision.objects.all(),
        label="Sanctions provision",
        distinct=False,
        widget=QuickSelect,
    )
    # Needs the supporting_sources annotation of evidence.corroboration.with_corroboration.
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
        widget=QuickSelect,
    )

    class Meta:
        model = Case
        fields = []

    def search(self, queryset, name, value):
        return queryset.search(value)
