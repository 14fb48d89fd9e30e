"""The one specification of a case's spreadsheet columns: what the exports write and
what the imports read, so a file exported here can be edited and imported back.

``COLUMNS`` lists them in order. Each is a ``Column``:

- ``header``: the column's heading, the first row of a CSV or XLSX file and the key
  of a JSON Lines object;
- ``read(case)``: the cell for one case. Text is a ``str`` ("" when empty); counts are
  ``int``, coordinates ``Decimal``, so a spreadsheet keeps them numbers (and a negative
  longitude is not taken for a formula by ``spreadsheet_safe``). Dates are ISO 8601
  ("2024-01-01"); ``date precision`` says what they mean (a month-precision case runs
  from the first to the last day of its months, as ``Case.save`` stores it). ``read``
  expects the cases of ``exportable(cases)``: joined, prefetched and annotated, so an
  export costs a few queries per chunk of cases, never one per case;
- ``field``: the ``CaseForm`` field the column fills on import ("external_id" is a
  ``Case`` field the import's form adds to ``CaseForm.Meta.fields``), or None;
- ``parse(cell, vocabulary)``: the form's value for a cell's text (a ``str``): text
  stripped, its line breaks LF, codes as typed (the form says what it refuses), weapon systems and
  provisions as a list of primary keys looked up in ``vocabulary`` (a ``Vocabulary``,
  loaded once per file with ``Vocabulary.load()``); a name it does not know is passed
  on as it is, so the form refuses it by name;
- ``export_only``: the column is worked out (the incident date as read, state,
  corroboration, who and when, the link) and an import ignores it. ``reference`` is
  neither a form field nor export only: an import may use it to recognise a case it
  already has;
- ``team_only``: written only for readers who work on cases
  (``tracker.models.works_on_cases``); a stakeholder's export leaves it empty, as a
  case's page does not show them who logged it.

``form_data(cells, vocabulary)`` turns one row (header → cell text) into ``CaseForm``
data, reading the importable columns the row has; a cell the CSV or XLSX export
quoted against formulas ("'=1+1") is read as typed ("=1+1"). ``exportable(cases)``
prepares a queryset for ``read``; ``HEADERS`` is the headers in order.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch

from tracker.models import Case, DatePrecision, IncidentType, SanctionsProvision, WeaponSystem

# Separates the names of a case's weapon systems or provisions within one cell.
LIST_SEPARATOR = "; "

Cell = str | int | Decimal


@dataclass(frozen=True)
class Ambiguous:
    """A name a cell gave that folds to two or more names ("artillery ammunition" for
    "Artillery ammunition" and "Artillery Ammunition"): the import refuses to choose."""

    names: tuple[str, ...]
    typed: str = ""


@dataclass(frozen=True)
class Vocabulary:
    """What an import's cells may name, each by its folded name → primary key: weapon
    systems by name, provisions as exported ("UNSCR 1718 (2006), para. 8 (a)") or as
    "resolution paragraph" ("1718 (2006) 8 (a)"). ``exact`` holds each table's names
    as exported → primary key, tried first: two names that differ only in capitals or
    spaces ("8 (a)" and "8 (A)") are both allowed, and fold to one key, which then
    maps to ``Ambiguous``."""

    weapon_systems: Mapping[str, int]
    sanctions_provisions: Mapping[str, int]
    exact: Mapping[str, Mapping[str, int]]

    @classmethod
    def load(cls):
        """Both tables, two queries: a few hundred rows at most."""
        provisions = {str(p): p for p in SanctionsProvision.objects.all()}
        weapon_systems = dict(WeaponSystem.objects.values_list("name", "pk"))
        return cls(
            weapon_systems=folded((name, pk, name) for name, pk in weapon_systems.items()),
            sanctions_provisions=folded(
                (form, p.pk, label)
                for label, p in provisions.items()
                for form in (label, f"{p.resolution} {p.paragraph}")
            ),
            exact={
                "weapon_systems": weapon_systems,
                "sanctions_provisions": {label: p.pk for label, p in provisions.items()},
            },
        )


def fold(name):
    return " ".join(name.split()).casefold()


def folded(entries):
    """fold(form) → primary key, from ``(form, primary key, name)``; a folded form that
    two entries share maps to ``Ambiguous`` with their names."""
    groups = {}
    for form, pk, name in entries:
        groups.setdefault(fold(form), {})[pk] = name
    return {
        key: next(iter(named)) if len(named) == 1 else Ambiguous(tuple(sorted(named.values())))
        for key, named in groups.items()
    }


# Reading a case.


def text(name):
    return lambda case: getattr(case, name) or ""


def iso_date(name):
    def read(case):
        value = getattr(case, name)
        return value.isoformat() if value else ""

    return read


def number(name):
    return lambda case: "" if getattr(case, name) is None else getattr(case, name)


def country(name):
    return lambda case: getattr(case, name).code or ""


def weapon_names(case):
    return LIST_SEPARATOR.join(system.name for system in case.exported_weapon_systems)


def provision_labels(case):
    return LIST_SEPARATOR.join(str(provision) for provision in case.exported_provisions)


def creator(case):
    return case.created_by.get_username()


def created_at(case):
    return case.created_at.astimezone(UTC).isoformat(timespec="seconds")


def link(case):
    return settings.SITE_URL + case.get_absolute_url()


# Reading a cell.


def stripped(cell, vocabulary=None):
    # Line breaks as the case forms keep them (tracker.forms.CleansCaseText): a file
    # saved with CR LF in its cells reads as the text it was exported with.
    return cell.strip().replace("\r\n", "\n").replace("\r", "\n")


def code(choices):
    """A choice's code, also recognised by its label ("Arms transfer")."""
    by_label = {fold(label): value for value, label in choices.choices}

    def parse(cell, vocabulary=None):
        cell = cell.strip()
        return by_label.get(fold(cell), cell)

    return parse


def country_code(cell, vocabulary=None):
    return cell.strip().upper()


def names(table):
    def parse(cell, vocabulary):
        known, exact = getattr(vocabulary, table), vocabulary.exact[table]
        labels = [label.strip() for label in cell.split(LIST_SEPARATOR.strip())]
        values = []
        for label in filter(None, labels):
            value = exact.get(label, known.get(fold(label), label))
            values.append(replace(value, typed=label) if isinstance(value, Ambiguous) else value)
        return values

    return parse


@dataclass(frozen=True)
class Column:
    header: str
    read: Callable[[Case], Cell]
    field: str | None = None
    parse: Callable[[str, Vocabulary], Any] = stripped
    export_only: bool = False
    team_only: bool = False


def computed(header, read, **options):
    return Column(header, read, export_only=True, **options)


COLUMNS = [
    Column("reference", text("reference")),
    Column("external id", text("external_id"), "external_id"),
    Column("title", text("title"), "title"),
    Column("summary", text("summary"), "summary"),
    Column("incident type", text("incident_type"), "incident_type", code(IncidentType)),
    Column("incident start", iso_date("incident_start"), "incident_start"),
    Column("incident end", iso_date("incident_end"), "incident_end"),
    Column("date precision", text("date_precision"), "date_precision", code(DatePrecision)),
    # The dates as a reader says them ("January 2024"), as every page shows them.
    computed("incident date", text("incident_period")),
    Column("place", text("place_name"), "place_name"),
    Column("latitude", number("latitude"), "latitude"),
    Column("longitude", number("longitude"), "longitude"),
    Column("country", country("country"), "country", country_code),
    Column("supplier", country("supplier_country"), "supplier_country", country_code),
    Column("recipient", country("recipient_country"), "recipient_country", country_code),
    Column("weapon systems", weapon_names, "weapon_systems", names("weapon_systems")),
    Column(
        "sanctions provisions",
        provision_labels,
        "sanctions_provisions",
        names("sanctions_provisions"),
    ),
    Column("reported quantity", text("reported_quantity"), "reported_quantity"),
    computed("state", text("state")),
    computed("supporting sources", number("supporting_sources")),
    computed("refuting sources", number("refuting_sources")),
    computed("suggested credibility", number("suggested_credibility")),
    computed("created by", creator, team_only=True),
    computed("created at", created_at),
    computed("link", link),
]
HEADERS = [column.header for column in COLUMNS]


def exportable(cases):
    """``cases`` as ``Column.read`` reads them: the creator joined, weapon systems and
    provisions prefetched (per chunk when iterated) into lists: a related manager for
    each case, with its queryset, was a third of a large export's time. The
    corroboration columns are the case's stored counts."""
    return cases.select_related("created_by").prefetch_related(
        Prefetch(
            "weapon_systems",
            WeaponSystem.objects.only("name"),
            to_attr="exported_weapon_systems",
        ),
        Prefetch(
            "sanctions_provisions",
            SanctionsProvision.objects.only("resolution", "paragraph"),
            to_attr="exported_provisions",
        ),
    )


def form_data(cells, vocabulary):
    """``CaseForm`` data from one row, ``cells`` mapping headers to the cells' text
    (``exchange.imports.cell_text``): the importable columns the row has, each parsed;
    the others are left out."""
    return {
        column.field: column.parse(cells[column.header] or "", vocabulary)
        for column in COLUMNS
        if column.field and column.header in cells
    }
