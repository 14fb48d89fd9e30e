"""Importing cases from CSV and XLSX: the preview, matching, the "0 changed" re-import,
updates with history, who may change what, reference values, and every kind of bad
file. The tests call the functions the tasks call (tests/exchange/test_import_pages.py
runs them on the real worker)."""

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from exchange import imports
from exchange.models import Action, ImportJob, Status
from exchange.reading import MAX_COLUMNS
from exchange.template_file import HEADERS
from tests import factories
from tests.exchange.import_files import (
    csv_bytes,
    messages,
    reference_data,
    results,
    row,
    run_import,
    xlsx_bytes,
    zip_bomb,
)
from tracker.models import Case, SanctionsProvision, State, WeaponSystem


@pytest.fixture(autouse=True)
def demo_reference_data(db):
    reference_data()


def first_message(job):
    return messages(job)[0]


# The preview.


def test_the_preview_lists_each_row_and_saves_nothing(monitor, case_factory):
    mine = case_factory(title="Shells by rail", external_id="T-1")
    same = case_factory(title="Unchanged case")
    same_row = {**row(), **exported(same)}
    rows = [
        row(title="A new case"),
        {**exported(mine), "title": "Shells by rail to Tikhoretsk"},
        same_row,
        row(title=""),
    ]
    job = run_import(monitor, csv_bytes(rows), confirm=False)

    assert job.status == Status.PREVIEWED
    assert (job.rows, job.created, job.updated, job.unchanged, job.errors) == (4, 1, 1, 1, 1)
    assert [(n, a, r) for n, a, r, _ in results(job)] == [
        (2, Action.CREATE, ""),
        (3, Action.UPDATE, mine.reference),
        (4, Action.UNCHANGED, same.reference),
        (5, Action.ERROR, ""),
    ]
    assert (3, "", "Changes title.") in messages(job)
    assert (5, "title", "This field is required.") in messages(job)
    # Nothing saved, and a preview with an error cannot be confirmed.
    assert Case.objects.count() == 2
    mine.refresh_from_db()
    assert mine.title == "Shells by rail"
    assert not job.may_confirm
    assert not imports.confirm(job, monitor)


def exported(case):
    """A case's importable cells, as an export writes them."""
    case.refresh_from_db()
    return {
        "reference": case.reference,
        "external id": case.external_id,
        "title": case.title,
        "summary": case.summary,
        "incident type": case.incident_type,
        "incident start": case.incident_start.isoformat(),
        "incident end": case.incident_end.isoformat() if case.incident_end else "",
        "date precision": case.date_precision,
        "place": case.place_name,
        "latitude": str(case.latitude or ""),
        "longitude": str(case.longitude or ""),
        "country": case.country.code,
        "supplier": case.supplier_country.code,
        "recipient": case.recipient_country.code,
        "weapon systems": "; ".join(w.name for w in case.weapon_systems.all()),
        "sanctions provisions": "; ".join(str(p) for p in case.sanctions_provisions.all()),
        "reported quantity": case.reported_quantity,
    }


def test_confirming_imports_drafts_of_the_importer_with_their_history(monitor):
    job = run_import(monitor, csv_bytes([row(external_id="UA-2024-001")]))

    assert (job.status, job.created, job.changed) == (Status.APPLIED, 1, 1)
    case = Case.objects.get()
    assert (case.state, case.created_by, case.external_id) == (State.DRAFT, monitor, "UA-2024-001")
    assert case.title == "Debris of a missile that hit Kharkiv derives from a DPRK Hwasong-11"
    assert (case.latitude, case.country.code) == (Decimal("49.993500"), "UA")
    assert [w.name for w in case.weapon_systems.all()] == [
        "Hwasong-11 (KN-23/KN-24) ballistic missile"
    ]
    assert sorted(p.resolution for p in case.sanctions_provisions.all()) == [
        "1718 (2006)",
        "1874 (2009)",
    ]
    version = case.history.get()
    assert (version.history_type, version.history_user) == ("+", monitor)
    assert version.history_change_reason == "Imported from cases.csv"
    assert results(job) == [(2, Action.CREATE, case.reference, [])]
    # The file is not kept once imported.
    assert not imports.stored_path(job).exists()


def test_importing_the_same_file_again_changes_nothing(monitor):
    data = csv_bytes([row(external_id="A-1"), row(external_id="A-2", title="Second")])
    assert run_import(monitor, data).created == 2

    again = run_import(monitor, data)

    assert (again.rows, again.unchanged, again.changed) == (2, 2, 0)
    assert again.status == Status.PREVIEWED  # nothing to confirm
    assert Case.objects.count() == 2
    assert all(c.history.count() == 1 for c in Case.objects.all())


def preview_of(user, data):
    return run_import(user, data, confirm=False)


def test_a_file_imported_after_this_copy_was_uploaded_is_not_imported_twice(monitor):
    # Rows with neither a reference nor an external id are new cases each time.
    data = csv_bytes([row(), row(title="Second")])
    first, second = preview_of(monitor, data), preview_of(monitor, data)
    assert imports.confirm(first, monitor)
    imports.apply(first.pk)

    with pytest.raises(imports.StalePreview) as refusal:
        imports.confirm(second, monitor)

    assert str(refusal.value).startswith(
        f"You imported this same file as import {first.pk} (confirmed on "
    )
    assert "Upload the file again" in str(refusal.value)
    second.refresh_from_db()
    assert (second.status, second.confirmed_at) == (Status.PREVIEWED, None)
    assert Case.objects.count() == 2

    # Uploaded again, it is previewed knowing of the cases: its new rows are flagged
    # as possibly repeating them, and it may be confirmed, by choice.
    third = with_earlier(preview_of(monitor, data))
    assert third.imported_before == first.pk
    assert "May be the same incident as" in messages(third)[0][2]
    assert imports.confirm(third, monitor)


def with_earlier(job):
    return imports.with_earlier_import(ImportJob.objects.filter(pk=job.pk)).get()


def test_a_failed_import_or_another_file_does_not_hold_a_preview_back(monitor, other_monitor):
    data = csv_bytes([row()])
    failed, waiting = preview_of(monitor, data), preview_of(monitor, data)
    other_file = preview_of(monitor, csv_bytes([row(title="Another file")]))
    # Another monitor's import of the same bytes is theirs: it is not named to this one.
    theirs = preview_of(other_monitor, data)
    assert imports.confirm(theirs, other_monitor)
    imports.apply(theirs.pk)
    assert imports.confirm(other_file, monitor)
    imports.apply(other_file.pk)
    assert imports.confirm(failed, monitor)
    ImportJob.objects.filter(pk=failed.pk).update(status=Status.FAILED)

    assert with_earlier(waiting).imported_before is None
    assert imports.confirm(waiting, monitor)


def test_an_exported_file_with_references_imports_as_unchanged(monitor, case_factory):
    cases = [case_factory(title=f"Case {n}") for n in range(3)]
    cases[0].weapon_systems.set(WeaponSystem.objects.all())
    cases[1].sanctions_provisions.set(SanctionsProvision.objects.all())
    cases[2].latitude, cases[2].longitude = Decimal("49.9935"), Decimal("-36.2304")
    cases[2].save()

    job = run_import(monitor, csv_bytes([exported(c) for c in cases]), confirm=False)

    assert (job.unchanged, job.changed, job.errors) == (3, 0, 0)


def test_a_corrected_file_updates_what_changed_with_history(monitor):
    first = run_import(monitor, csv_bytes([row(external_id="A-1"), row(external_id="A-2")]))
    assert first.created == 2
    corrected = csv_bytes(
        [row(external_id="A-1"), row(external_id="A-2", place="Kharkiv region", latitude="")]
    )
    # Longitude without latitude is an error of the case form: one validation.
    refused = run_import(monitor, corrected)
    assert messages(refused) == [(3, "latitude", "Give both latitude and longitude, or neither.")]
    corrected = csv_bytes([row(external_id="A-1"), row(external_id="A-2", place="Kharkiv region")])

    job = run_import(monitor, corrected)

    assert (job.status, job.updated, job.unchanged) == (Status.APPLIED, 1, 1)
    case = Case.objects.get(external_id="A-2")
    assert case.place_name == "Kharkiv region"
    latest = case.history.first()
    assert (latest.history_type, latest.history_user) == ("~", monitor)
    assert latest.history_change_reason == "Imported from cases.csv"
    assert latest.prev_record.place_name == "Kharkiv"
    assert Case.objects.get(external_id="A-1").history.count() == 1
    assert (3, "", "Changes place.") in messages(job)


def test_a_row_finds_its_case_by_reference(monitor, case_factory):
    case = case_factory(title="Old title")
    job = run_import(monitor, csv_bytes([{**exported(case), "title": "New title"}]))

    assert (job.updated, job.created) == (1, 0)
    case.refresh_from_db()
    assert case.title == "New title"


def test_absent_columns_keep_the_cases_values(monitor, case_factory):
    case = case_factory(title="Old title", reported_quantity="about 6,700 containers")
    headers = ["reference", "title", "summary", "incident type", "incident start", "place",
               "country"]  # fmt: skip
    cells = exported(case)
    cells["title"] = "New title"

    job = run_import(monitor, csv_bytes([cells], headers=headers))

    assert job.updated == 1
    case.refresh_from_db()
    assert (case.title, case.reported_quantity) == ("New title", "about 6,700 containers")


# Who may change what.


def test_a_case_the_importer_may_not_edit_is_refused_only_when_the_row_changes_it(
    monitor, other_monitor, case_factory
):
    submitted = case_factory("submitted", created_by=other_monitor, title="Theirs")
    job = run_import(
        monitor,
        csv_bytes([exported(submitted), {**exported(submitted), "title": "Changed"}]),
        confirm=False,
    )
    # The second row names the same case: one row a case.
    assert job.errors == 1
    assert messages(job)[0][0] == 3

    job = run_import(monitor, csv_bytes([{**exported(submitted), "title": "Changed"}]))

    assert (job.status, job.errors) == (Status.PREVIEWED, 1)
    number, column, text = first_message(job)
    assert (number, column) == (2, "reference")
    assert f"changes {submitted.reference}, but only the monitor who created it" in text
    submitted.refresh_from_db()
    assert submitted.title == "Theirs"
    # Unchanged, it is fine: re-importing an export of the team's cases changes nothing.
    assert run_import(monitor, csv_bytes([exported(submitted)])).unchanged == 1


def test_another_monitors_draft_is_not_found(monitor, other_monitor, case_factory):
    draft = case_factory(created_by=other_monitor)
    job = run_import(monitor, csv_bytes([{**exported(draft), "title": "x"}]))
    assert first_message(job) == (
        2,
        "reference",
        f"There is no case {draft.reference} you may see.",
    )


def test_the_state_column_is_ignored(monitor, case_factory):
    data = csv_bytes([row(state="approved")], headers=[*HEADERS, "state"])
    job = run_import(monitor, data)
    assert job.status == Status.APPLIED
    assert Case.objects.get().state == State.DRAFT


def test_only_those_who_may_log_cases_may_import(reviewer, stakeholder):
    from django.core.exceptions import PermissionDenied

    for user in (reviewer, stakeholder):
        with pytest.raises(PermissionDenied):
            run_import(user, csv_bytes([row()]))
    assert not ImportJob.objects.exists()


# Reference values.


def test_unknown_reference_values_are_errors(monitor):
    data = csv_bytes([row(weapon_systems="Hwasong-19", sanctions_provisions="2397 (2017)")])
    job = run_import(monitor, data)

    assert job.errors == 1
    assert messages(job) == [
        (2, "weapon systems", "There is no weapon system “Hwasong-19”. Use one of the list, or "
         "tick “create the missing reference values”."),
        (2, "sanctions provisions", "There is no provision “2397 (2017)”. Use one of the list, "
         "or tick “create the missing reference values”."),
    ]  # fmt: skip
    assert not WeaponSystem.objects.filter(name="Hwasong-19").exists()


@pytest.mark.parametrize("create_missing", [False, True])
def test_a_name_that_could_be_either_of_two_is_an_error(monitor, create_missing):
    # Both are allowed, each unique as written; the import does not pick one.
    before = (WeaponSystem.objects.count(), SanctionsProvision.objects.count())
    WeaponSystem.objects.create(name="Rocket launcher")
    WeaponSystem.objects.create(name="Rocket Launcher")
    SanctionsProvision.objects.create(resolution="2270 (2016)", paragraph="6 (a)", summary="s")
    SanctionsProvision.objects.create(resolution="2270 (2016)", paragraph="6 (A)", summary="s")
    data = csv_bytes(
        [row(weapon_systems="rocket  launcher", sanctions_provisions="2270 (2016) 6 (a)")]
    )
    job = run_import(monitor, data, create_missing=create_missing)

    assert job.errors == 1
    assert messages(job) == [
        (2, "weapon systems", "“rocket  launcher” could be “Rocket Launcher” or “Rocket "
         "launcher”, which differ only in capitals or spaces: write it as one of them."),
        (2, "sanctions provisions", "“2270 (2016) 6 (a)” could be “UNSCR 2270 (2016), para. "
         "6 (A)” or “UNSCR 2270 (2016), para. 6 (a)”, which differ only in capitals or "
         "spaces: write it as one of them."),
    ]  # fmt: skip
    after = (WeaponSystem.objects.count(), SanctionsProvision.objects.count())
    assert after == (before[0] + 2, before[1] + 2)
    assert not Case.objects.exists()

    exact = csv_bytes([row(weapon_systems="Rocket Launcher", sanctions_provisions="")])
    job = run_import(monitor, exact, create_missing=create_missing)
    assert job.created == 1
    assert [w.name for w in Case.objects.get().weapon_systems.all()] == ["Rocket Launcher"]


def test_the_missing_reference_values_are_created_when_asked_for(monitor):
    data = csv_bytes(
        [
            row(weapon_systems="Hwasong-19", sanctions_provisions="UNSCR 2397 (2017), para. 7"),
            row(title="Another", weapon_systems="hwasong-19"),
        ]
    )
    preview = run_import(monitor, data, create_missing=True, confirm=False)
    assert preview.new_reference_values == [
        {"kind": "weapon system", "name": "Hwasong-19"},
        {"kind": "provision", "name": "UNSCR 2397 (2017), para. 7"},
    ]
    assert (2, "weapon systems", "Creates the weapon system “Hwasong-19”.") in messages(preview)
    assert not WeaponSystem.objects.filter(name="Hwasong-19").exists()  # a preview

    job = run_import(monitor, data, create_missing=True)

    assert job.created == 2
    hwasong = WeaponSystem.objects.get(name="Hwasong-19")
    assert hwasong.cases.count() == 2
    assert SanctionsProvision.objects.get(resolution="2397 (2017)").paragraph == "7"


def test_an_external_id_another_case_has_is_an_error_saying_so(
    monitor, other_monitor, case_factory
):
    case_factory(created_by=other_monitor, external_id="UA-2024-001")  # their draft
    job = run_import(monitor, csv_bytes([row(external_id="UA-2024-001")]), confirm=False)
    assert [text for *_, text in messages(job)] == [
        "Another case already has this external id: each case's external id is its own."
    ]


def test_a_case_whose_external_id_is_its_reference_is_named_once_by_each(monitor, case_factory):
    case = case_factory(title="Shells by rail")
    Case.objects.filter(pk=case.pk).update(external_id=case.reference)
    data = csv_bytes(
        [
            row(
                title="Shells by rail to Tikhoretsk",
                reference=case.reference,
                external_id=case.reference,
            )
        ]
    )
    job = run_import(monitor, data, confirm=False)
    assert (job.updated, job.errors) == (1, 0), messages(job)


def test_an_unknown_country_is_an_error(monitor):
    job = run_import(monitor, csv_bytes([row(country="XX")]))
    number, column, text = first_message(job)
    assert (number, column) == (2, "country")
    assert "XX" in text
    assert not Case.objects.exists()


# All or nothing.


def test_an_import_whose_rows_fail_when_applied_changes_nothing(monitor, case_factory):
    case = case_factory(title="Old")
    data = csv_bytes([row(title="New case"), {**exported(case), "title": "Changed"}])
    job = imports.start(monitor, upload_of(data))
    imports.preview(job.pk)
    job.refresh_from_db()
    assert job.may_confirm
    # Between the preview and the import, the case went to review.
    factories.context_for(case)
    from tracker import workflow

    workflow.submit(case, monitor)
    assert imports.confirm(job, monitor)
    imports.apply(job.pk)
    job.refresh_from_db()

    assert job.status == Status.FAILED
    assert "nothing was imported" in job.message
    assert Case.objects.count() == 1
    case.refresh_from_db()
    assert case.title == "Old"
    # Confirmed once: not again.
    assert not imports.confirm(job, monitor)


def test_a_task_delivered_again_does_nothing_more(monitor):
    job = run_import(monitor, csv_bytes([row()]))
    imports.apply(job.pk)
    imports.preview(job.pk)
    assert Case.objects.count() == 1


def upload_of(data, name="cases.csv"):
    from tests.exchange.import_files import upload

    return upload(data, name)


# XLSX.


def test_an_xlsx_file_imports_like_csv(monitor):
    job = run_import(monitor, xlsx_bytes([row(), row(title="Second")]), name="cases.xlsx")
    assert (job.status, job.created) == (Status.APPLIED, 2)


def test_xlsx_dates_and_excel_serial_numbers_are_dates(monitor):
    # 45293 is 2 January 2024 in Excel's day numbers: a date column whose format was lost.
    data = xlsx_bytes(
        [
            row(title="Date cell", incident_start=date(2024, 1, 2)),
            row(title="Serial", incident_start=45293),
        ]
    )
    job = run_import(monitor, data, name="cases.xlsx")
    assert job.created == 2, messages(job)
    assert {c.incident_start for c in Case.objects.all()} == {date(2024, 1, 2)}


def test_xlsx_numbers_are_read_as_written(monitor):
    data = xlsx_bytes([row(latitude=49.9935, longitude=-36.2304)])
    run_import(monitor, data, name="cases.xlsx")
    case = Case.objects.get()
    assert (case.latitude, case.longitude) == (Decimal("49.9935"), Decimal("-36.2304"))


def test_an_xlsx_formula_is_refused_naming_its_cell(monitor):
    data = xlsx_bytes([row(title='=CONCAT("Debris ", "in Kharkiv")')])
    job = run_import(monitor, data, name="cases.xlsx")
    number, column, text = first_message(job)
    assert (job.errors, number, column) == (1, 2, "title")
    assert text.startswith("The cell holds a formula (=CONCAT(")
    assert not Case.objects.exists()


def test_an_xlsx_error_value_is_refused_naming_its_cell(monitor):
    # A lookup column pasted as values: #N/A where it found nothing.
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append([row()[header] for header in HEADERS])
    cell = sheet.cell(row=2, column=HEADERS.index("place") + 1)
    cell.value, cell.data_type = "#N/A", "e"
    data = io.BytesIO()
    workbook.save(data)
    job = run_import(monitor, data.getvalue(), name="cases.xlsx")
    number, column, text = first_message(job)
    assert (job.errors, number, column) == (1, 2, "place")
    assert text.startswith("The cell holds the spreadsheet's error #N/A, not a value")
    assert not Case.objects.exists()


@pytest.mark.parametrize("column", ["title", "reference", "external id", "weapon systems"])
def test_a_nul_character_in_a_cell_is_refused_naming_its_cell(monitor, column):
    cells = row()
    cells[column] = "Hwasong\x0011"
    job = run_import(monitor, csv_bytes([cells]), create_missing=True)
    assert job.status == Status.PREVIEWED, job.message
    assert first_message(job) == (
        2,
        column,
        "The cell holds a NUL character, which no case can keep: remove it.",
    )
    assert not Case.objects.exists()


def test_a_nul_character_in_the_header_refuses_the_file(monitor):
    message = refused(monitor, csv_bytes([row()], headers=[*HEADERS[:-1], "notes\x00"]))
    assert message.startswith("The header row holds a NUL character in column")


def test_a_summary_longer_than_the_csv_modules_own_limit_is_read(monitor):
    summary = "Containers moved by rail from Rajin. " * 5000  # 185,000 characters
    job = run_import(monitor, csv_bytes([row(summary=summary)]))
    assert job.created == 1, job.message
    assert Case.objects.get().summary == summary.strip()


def test_a_provision_too_long_to_create_is_an_error_not_cut_short(monitor):
    label = (
        "UNSCR 2397 (2017), para. 7 (a) and (b): refined petroleum products, crude oil "
        "and industrial machinery"
    )
    job = run_import(monitor, csv_bytes([row(sanctions_provisions=label)]), create_missing=True)
    number, column, text = first_message(job)
    assert (job.errors, column) == (1, "sanctions provisions")
    assert text.startswith("Cannot create the provision")
    assert not SanctionsProvision.objects.filter(resolution="2397 (2017)").exists()


def test_an_exported_cell_keeps_its_text_without_the_protective_quote(monitor):
    run_import(monitor, csv_bytes([row(title="'=1+1 is not a formula here")]))
    assert Case.objects.get().title == "=1+1 is not a formula here"


def test_empty_rows_are_skipped_and_rows_keep_their_numbers(monitor):
    text = csv_bytes([row(), ["", ""], [], row(title="Fourth")])
    job = run_import(monitor, text)
    assert [n for n, *_ in results(job)] == [2, 5]

    data = xlsx_bytes([row(), [None, None], row(title="Fourth")])
    job = run_import(monitor, data, name="cases.xlsx")
    assert [n for n, *_ in results(job)] == [2, 4]


# Bad files: refused with a clear message, nothing changed.


def refused(monitor, data, name="cases.csv"):
    job = run_import(monitor, data, name=name)
    assert job.status == Status.REFUSED, job.message
    assert not Case.objects.exists()
    assert not job.results.exists()
    assert not imports.stored_path(job).exists()
    return job.message


def test_a_file_not_in_utf8_is_refused_saying_so(monitor):
    data = csv_bytes([row(place="Kharkiv – Saltivka")], encoding="cp1252")
    message = refused(monitor, data)
    assert message.startswith("The file is not UTF-8 text (byte 0x96 near byte")
    assert "CSV UTF-8" in message


def test_a_byte_order_mark_is_accepted(monitor):
    job = run_import(monitor, csv_bytes([row()], bom=True))
    assert job.created == 1


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolons_and_tabs_are_accepted(monitor, delimiter):
    job = run_import(monitor, csv_bytes([row(), row(title="Two")], delimiter=delimiter))
    assert job.created == 2, job.message


def test_an_unknown_header_is_refused_naming_it(monitor):
    data = csv_bytes([row()], headers=[*HEADERS, "Notes"])
    assert refused(monitor, data).startswith(
        "The file has columns this tracker does not know: Notes."
    )


def test_a_missing_header_is_refused_naming_it(monitor):
    headers = [h for h in HEADERS if h not in ("title", "country")]
    message = refused(monitor, csv_bytes([row()], headers=headers))
    assert "The file lacks the required columns: title, country." in message


def test_merged_header_cells_are_refused_naming_the_column(monitor):
    def merge(sheet):
        sheet.merge_cells("C1:D1")

    message = refused(monitor, xlsx_bytes([row()], prepare=merge), name="cases.xlsx")
    assert message.startswith("The header row has no name in column D.")


def test_a_row_of_10000_columns_is_refused(monitor):
    wide = list(row().values()) + ["x"] * 10_000
    message = refused(monitor, csv_bytes([wide]))
    assert message == f"Row 2 has 10,017 columns; a file may have at most {MAX_COLUMNS}."
    message = refused(monitor, xlsx_bytes([wide]), name="wide.xlsx")
    assert message == f"Row 2 has {MAX_COLUMNS + 1} columns; a file may have at most {MAX_COLUMNS}."


def test_a_zip_bomb_is_refused_before_it_is_unpacked(monitor, settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 4 * 2**20
    message = refused(monitor, zip_bomb(16 * 2**20), name="bomb.xlsx")
    assert message == (
        "The workbook would unpack to 16 MB; at most 4 MB is read. Split it, or save it as CSV."
    )


def test_an_old_excel_workbook_is_refused(monitor):
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    assert "Excel 97-2003 workbook (.xls)" in refused(monitor, data, name="cases.xls")


def test_a_damaged_workbook_is_refused(monitor):
    data = xlsx_bytes([row()])[:-200]
    assert refused(monitor, data, name="cases.xlsx").startswith("The file is not an Excel workbook")


def test_too_many_rows_are_refused(monitor, settings):
    settings.IMPORT_MAX_ROWS = 2
    data = csv_bytes([row(), row(title="2"), row(title="3")])
    assert refused(monitor, data) == "The file has more than 2 rows; split it and import each part."


def test_a_file_too_large_or_empty_is_refused_at_upload(monitor, settings):
    from exchange.reading import FileRefused

    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    with pytest.raises(FileRefused, match="an import may be at most 0 MB"):
        imports.start(monitor, upload_of(csv_bytes([row()])))
    with pytest.raises(FileRefused, match="The file is empty."):
        imports.start(monitor, upload_of(b""))
    assert not ImportJob.objects.exists()


# Possible duplicates: noted, never an error.


def test_rows_that_look_like_a_case_or_each_other_are_noted(monitor, other_monitor, case_factory):
    earlier = case_factory(
        "submitted",
        created_by=other_monitor,
        title="Debris of a missile that hit Kharkiv is from a DPRK Hwasong-11",
        incident_start=date(2024, 1, 2),
        place_name="Kharkiv",
        country="UA",
    )
    data = csv_bytes(
        [
            row(),
            row(title="Hwasong-11 debris found in Kharkiv", summary="DPRK missile debris."),
            row(
                title="Containers of shells shipped from Rajin",
                summary="Munitions by sea.",
                incident_start="2023-09-10",
                place="Rajin",
                country="KP",
                weapon_systems="Artillery ammunition",
            ),
        ]
    )
    job = run_import(monitor, data, confirm=False)

    assert (job.created, job.errors) == (3, 0)
    noted = messages(job)
    looks_like_the_case = [
        (n, text)
        for n, _, text in noted
        if text.startswith(f"May be the same incident as {earlier.reference}")
    ]
    assert [n for n, _ in looks_like_the_case][:1] == [2]
    assert "% alike." in looks_like_the_case[0][1]
    assert any(n == 2 and "as row 3 of this file" in text for n, _, text in noted)
    assert any(n == 3 and "as row 2 of this file" in text for n, _, text in noted)
    assert not any(n == 4 for n, _, _ in noted)
    # A note does not stop the import, whose report says what it did.
    job = run_import(monitor, data)
    assert (job.status, job.created) == (Status.APPLIED, 3)
    assert not any("May be the same incident" in text for _, _, text in messages(job))


def test_an_unexpected_failure_is_reported_and_changes_nothing(monitor, monkeypatch):
    job = imports.start(monitor, upload_of(csv_bytes([row(), row(title="Second")])))

    def broken(self, number, cells):
        raise RuntimeError("a fault of the code")

    monkeypatch.setattr(imports.Rows, "check", broken)
    with pytest.raises(RuntimeError):
        imports.preview(job.pk)
    job.refresh_from_db()
    assert job.status == Status.REFUSED
    assert job.message.startswith("The import stopped on an unexpected error")
    assert not Case.objects.exists()


def test_a_case_named_by_its_reference_and_by_its_external_id_on_two_rows_is_refused(
    monitor, case_factory
):
    """The first row clears the external id the second finds the case by: the preview
    would say "update" twice, and the import would update it and create another."""
    case = case_factory(title="Shells by rail", external_id="RAIL-7")
    data = csv_bytes(
        [
            row(title="Shells by rail", reference=case.reference, external_id=""),
            row(title="Shells by rail to Tikhoretsk", reference="", external_id="RAIL-7"),
        ]
    )
    job = run_import(monitor, data)
    assert (job.status, job.errors) == (Status.PREVIEWED, 1), messages(job)
    assert messages(job)[-1] == (
        3,
        "external id",
        f"{case.reference} is also on row 2: one row a case.",
    )
    assert Case.objects.count() == 1


def test_an_importer_deactivated_after_confirming_imports_nothing(monitor):
    job = run_import(monitor, csv_bytes([row()]), confirm=False)
    assert imports.confirm(job, monitor)
    monitor.is_active = False
    monitor.save()

    imports.apply(job.pk)

    job.refresh_from_db()
    assert (job.status, job.created) == (Status.FAILED, 0)
    assert "may no longer import cases" in job.message
    assert not Case.objects.exists()
