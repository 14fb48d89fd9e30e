"""Every export format imports back with no change: the files the real export endpoints
serve, imported as the pages and the API import them (the tasks' functions), by the
monitor whose cases they are and by one to whom most of them belong to others."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from api.models import ApiToken, Scope
from exchange.models import Action, Status
from tests import factories
from tests.exchange.import_files import messages, reference_data, run_import
from tracker.forms import CASE_TEXT_MAX_CHARS
from tracker.models import (
    Case,
    DatePrecision,
    IncidentType,
    SanctionsProvision,
    WeaponSystem,
)

FORMATS = ["csv", "xlsx", "jsonl"]


@pytest.fixture
def cases(db, monitor, other_monitor, case_factory):
    """Cases of both monitors in several states, with every kind of value an export
    writes: weapon systems, provisions, coordinates, external ids, each date precision."""
    reference_data()
    weapons = list(WeaponSystem.objects.order_by("name"))
    provisions = list(SanctionsProvision.objects.order_by("resolution"))
    made = [
        case_factory(
            title="Hwasong-11 debris in Kharkiv",
            summary="Fragments of a ballistic missile; =a note, not a formula.",
            incident_type=IncidentType.BATTLEFIELD_USE,
            incident_start=date(2024, 1, 2),
            date_precision=DatePrecision.DAY,
            place_name="Kharkiv – Saltivka",
            latitude=Decimal("49.9935"),
            longitude=Decimal("-36.2304"),
            country="UA",
            external_id="UA-2024-001",
            reported_quantity="2",
        ),
        case_factory(
            title="-Shells by rail",
            incident_start=date(2023, 9, 1),
            incident_end=date(2023, 11, 30),
            date_precision=DatePrecision.MONTH,
            external_id="RAIL-7",
        ),
        case_factory(
            # A quote an import would take off before a formula's first character.
            title="'-30 °C' shells misfire at Tikhoretsk",
            incident_start=date(2023, 1, 1),
            date_precision=DatePrecision.YEAR,
            state="submitted",
        ),
        case_factory(
            title="'Sea Breeze' shipment reported by a partner",
            incident_start=date(2024, 5, 10),
            date_precision=DatePrecision.APPROXIMATE,
            place_name="Rajin",
            supplier_country="",
            recipient_country="",
        ),
        case_factory(
            title="Another monitor's case in review",
            created_by=other_monitor,
            state="submitted",
            external_id="OTHER-1",
            latitude=Decimal("42.2400"),
            longitude=Decimal("130.2900"),
        ),
        case_factory(
            title="Another monitor's approved case",
            created_by=other_monitor,
            state="approved",
            incident_start=date(2024, 3, 1),
            incident_end=date(2024, 4, 30),
            date_precision=DatePrecision.MONTH,
        ),
        # Seen by nobody but its author: in no file here.
        case_factory(title="Another monitor's draft", created_by=other_monitor),
    ]
    for case in made[:5]:
        case.weapon_systems.set(weapons[: 1 + case.pk % 2])
        case.sanctions_provisions.set(provisions[: 1 + case.pk % 2])
    return made


def snapshot():
    """Everything an import could change: each case's values and relations, and the
    history of cases and reference values."""
    return (
        list(Case.objects.order_by("pk").values()),
        sorted(Case.weapon_systems.through.objects.values_list("case_id", "weaponsystem_id")),
        sorted(
            Case.sanctions_provisions.through.objects.values_list(
                "case_id", "sanctionsprovision_id"
            )
        ),
        Case.history.count(),
        WeaponSystem.objects.count(),
        SanctionsProvision.objects.count(),
    )


def exported(client, user, format):
    client.force_login(user)
    response = client.get(reverse("exchange:case_export", args=[format]))
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("exporter", ["monitor", "reviewer"])
def test_an_export_imports_back_with_no_change(client, request, monitor, cases, format, exporter):
    data = exported(client, request.getfixturevalue(exporter), format)
    before = snapshot()

    job = run_import(monitor, data, name=f"cases.{format}")

    # The monitor's export holds their own drafts and everyone's cases past the draft;
    # the reviewer's, the cases past the draft, most of them not the monitor's.
    expected = (
        {c.reference for c in cases[:6]}
        if exporter == "monitor"
        else {c.reference for c in cases[2:3] + cases[4:6]}
    )
    assert job.status == Status.PREVIEWED, job.message
    assert (job.created, job.updated, job.errors) == (0, 0, 0), list(
        job.results.values_list("number", "messages")
    )
    assert job.unchanged == job.rows == len(expected)
    assert {(r.action, r.reference) for r in job.results.all()} == {
        (Action.UNCHANGED, reference) for reference in expected
    }
    assert not job.may_confirm
    assert snapshot() == before


@pytest.mark.parametrize("format", FORMATS)
def test_a_summary_typed_in_a_browser_imports_back_with_no_change(
    client, monitor, case_factory, format
):
    # A textarea sends its line breaks as CR LF; an XLSX cell cannot hold a CR.
    case = case_factory(title="Shells by rail")
    client.force_login(monitor)
    client.post(
        reverse("tracker:case_edit", args=[case.pk]),
        factories.case_form(case, summary="Containers left Rajin.\r\nThey reached Tikhoretsk."),
    )
    case.refresh_from_db()
    assert case.summary == "Containers left Rajin.\nThey reached Tikhoretsk."

    job = run_import(monitor, exported(client, monitor, format), name=f"cases.{format}")
    assert (job.unchanged, job.updated) == (1, 0), list(job.results.values_list("messages"))


def api_client(user):
    _, token = ApiToken.issue(user, "test script", Scope.WRITE)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.parametrize("format", FORMATS)
def test_a_lone_carriage_return_sent_by_the_api_imports_back_with_no_change(
    client, monitor, case_factory, format
):
    # An XLSX cell cannot hold a CR: XML reads it as LF.
    case = case_factory(title="Shells by rail")
    response = api_client(monitor).patch(
        f"/api/v1/cases/{case.reference}/",
        {"title": "Shells\rby rail", "summary": "Containers left Rajin.\rThey reached Tikhoretsk."},
        format="json",
    )
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert (case.title, case.summary) == (
        "Shells\nby rail",
        "Containers left Rajin.\nThey reached Tikhoretsk.",
    )

    job = run_import(monitor, exported(client, monitor, format), name=f"cases.{format}")
    assert (job.unchanged, job.updated) == (1, 0), list(job.results.values_list("messages"))


def test_an_export_saved_with_cr_lf_in_its_cells_imports_back_with_no_change(
    client, monitor, other_monitor, case_factory
):
    """A spreadsheet may save a cell's line breaks as CR LF: the same text to the case
    form, so no change, and no refusal of a case the importer may not edit."""
    case_factory(summary="Containers left Rajin.\nThey reached Tikhoretsk.")
    case_factory(
        summary="Debris in Kharkiv.\nTwo fragments.", created_by=other_monitor, state="approved"
    )
    text = exported(client, monitor, "csv").decode("utf-8-sig")
    saved = io.StringIO()
    writer = csv.writer(saved)
    for cells in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([cell.replace("\n", "\r\n") for cell in cells])
    assert "Rajin.\r\nThey" in saved.getvalue()

    job = run_import(monitor, saved.getvalue().encode(), name="cases.csv")
    assert (job.unchanged, job.updated, job.errors) == (2, 0, 0), list(
        job.results.values_list("messages")
    )


@pytest.mark.parametrize("format", FORMATS)
def test_a_case_saved_with_cr_lf_before_it_was_cleaned_imports_back_with_no_change(
    client, monitor, other_monitor, case_factory, format
):
    """Cases saved before the forms cleaned line breaks keep their CR LF: the import
    compares them as the form would save them, so no change, and no refusal of another
    monitor's case."""
    theirs = case_factory(created_by=other_monitor, state="approved")
    Case.objects.filter(pk=theirs.pk).update(summary="Debris in Kharkiv.\r\nTwo fragments.")

    job = run_import(monitor, exported(client, monitor, format), name=f"cases.{format}")
    assert (job.unchanged, job.errors) == (1, 0), list(job.results.values_list("messages"))
    theirs.refresh_from_db()
    assert theirs.summary == "Debris in Kharkiv.\r\nTwo fragments."


@pytest.mark.parametrize("format", FORMATS)
def test_names_that_differ_only_in_capitals_import_back_as_the_ones_exported(
    client, monitor, case_factory, format
):
    """Both are allowed (each name is unique as written); a folded name alone would
    take one for the other, and the import would change the case's lists."""
    WeaponSystem.objects.create(name="Artillery ammunition")
    weapon = WeaponSystem.objects.create(name="Artillery Ammunition")
    SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a)", summary="s")
    provision = SanctionsProvision.objects.create(
        resolution="1718 (2006)", paragraph="8 (A)", summary="s"
    )
    case = case_factory()
    case.weapon_systems.set([weapon])
    case.sanctions_provisions.set([provision])

    job = run_import(monitor, exported(client, monitor, format), name=f"cases.{format}")
    assert (job.unchanged, job.updated) == (1, 0), list(job.results.values_list("messages"))
    assert list(case.weapon_systems.all()) == [weapon]
    assert list(case.sanctions_provisions.all()) == [provision]


@pytest.mark.parametrize("format", FORMATS)
def test_a_text_that_is_an_error_values_name_imports_back_with_no_change(
    client, monitor, case_factory, format
):
    # openpyxl would write "#N/A" as the error value, which an import refuses.
    case_factory(title="#DIV/0!", reported_quantity="#N/A")

    job = run_import(monitor, exported(client, monitor, format), name=f"cases.{format}")
    assert (job.unchanged, job.errors) == (1, 0), list(job.results.values_list("messages"))


@pytest.mark.parametrize("format", FORMATS)
def test_control_characters_no_spreadsheet_cell_holds_are_never_saved(
    client, monitor, case_factory, format
):
    """A line or page break pasted from a word processor is a line break; any other
    control character is refused. An XLSX export would write either as U+FFFD."""
    case = case_factory(title="Shells by rail")
    api = api_client(monitor)
    url = f"/api/v1/cases/{case.reference}/"
    refused = api.patch(url, {"summary": "Containers\x07 left Rajin."}, format="json")
    assert refused.status_code == 400
    assert "U+0007" in refused.content.decode()
    saved = api.patch(url, {"summary": "Left Rajin.\vReached Tikhoretsk.\f"}, format="json")
    assert saved.status_code == 200, saved.content
    case.refresh_from_db()
    assert case.summary == "Left Rajin.\nReached Tikhoretsk."

    job = run_import(monitor, exported(client, monitor, format), name=f"cases.{format}")
    assert (job.unchanged, job.updated) == (1, 0), list(job.results.values_list("messages"))


def test_a_summary_longer_than_a_cell_imports_back_whole_and_is_never_cut(
    client, monitor, case_factory
):
    """An XLSX cell holds 32,767 characters: the export cuts a longer summary there. Back
    in an import, the case keeps its whole summary; a change to such a cell is refused,
    as it would lose the rest."""
    long = " ".join(["Containers left Rajin for Tikhoretsk by rail."] * 1000)
    case = case_factory(summary=long)
    data = exported(client, monitor, "xlsx")
    before = snapshot()

    job = run_import(monitor, data, name="cases.xlsx")
    assert (job.unchanged, job.errors) == (1, 0), messages(job)
    assert messages(job) == [
        (
            2,
            "summary",
            "The cell holds the first 32,767 characters, all a spreadsheet cell can; "
            f"the case keeps its {len(long):,}.",
        )
    ]
    assert snapshot() == before

    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.active
    column = [cell.value for cell in sheet[1]].index("summary") + 1
    sheet.cell(2, column).value = "Wagons" + sheet.cell(2, column).value[10:]
    edited = io.BytesIO()
    workbook.save(edited)
    job = run_import(monitor, edited.getvalue(), name="cases.xlsx")
    assert job.errors == 1
    assert "more than a spreadsheet cell holds, and this cell changes it" in str(messages(job))
    assert snapshot() == before
    case.refresh_from_db()
    assert case.summary == long


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_the_longest_summary_a_case_holds_imports_back_whole(client, monitor, case_factory, format):
    """Quotes are written twice in CSV and escaped in JSON: the longest summary the forms
    take, all quotes and line breaks, still fits the line an import reads."""
    case = case_factory(title="Shells by rail")
    api = api_client(monitor)
    url = f"/api/v1/cases/{case.reference}/"
    longest = '"\n' * (CASE_TEXT_MAX_CHARS // 2)
    refused = api.patch(url, {"summary": longest + "."}, format="json")
    assert refused.status_code == 400
    assert (
        "It has 400,001 characters; a case's text holds at most 400,000."
        in (refused.json()["errors"][0]["detail"])
    )
    assert api.patch(url, {"summary": "x" + longest[1:]}, format="json").status_code == 200

    job = run_import(monitor, exported(client, monitor, format), name=f"cases.{format}")
    assert (job.unchanged, job.errors) == (1, 0), job.message
