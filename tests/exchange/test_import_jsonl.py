"""Importing cases from JSON Lines, as the JSONL export writes them: real bytes, read
like CSV (the same columns, the same checks), and every kind of bad line refused."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from exchange import imports
from exchange.models import Action, Status
from exchange.reading import MAX_COLUMNS
from exchange.template_file import HEADERS
from tests.exchange.import_files import (
    jsonl_bytes,
    reference_data,
    results,
    row,
    run_import,
    upload,
)
from tracker.models import Case


@pytest.fixture(autouse=True)
def demo_reference_data(db):
    reference_data()


def refused(monitor, data):
    job = run_import(monitor, data, name="cases.jsonl")
    assert job.status == Status.REFUSED, job.message
    assert not Case.objects.exists()
    assert not job.results.exists()
    assert not imports.stored_path(job).exists()
    return job.message


def test_a_jsonl_file_imports_like_csv_and_again_changes_nothing(monitor):
    data = jsonl_bytes([row(external_id="J-1"), row(external_id="J-2", title="Second")])
    job = run_import(monitor, data, name="cases.jsonl")
    assert (job.status, job.created, job.errors) == (Status.APPLIED, 2, 0), job.message
    case = Case.objects.get(external_id="J-1")
    assert case.title == "Debris of a missile that hit Kharkiv derives from a DPRK Hwasong-11"
    assert case.history.get().history_change_reason == "Imported from cases.jsonl"

    again = run_import(monitor, data, name="cases.jsonl")
    assert (again.unchanged, again.changed, again.errors) == (2, 0, 0)


def test_numbers_and_nulls_are_values_and_rows_are_numbered_by_line(monitor):
    first = {**row(), "latitude": 49.9935, "longitude": -36.2304, "reported quantity": 3}
    second = {**row(title="Second"), "latitude": None, "longitude": None, "external id": None}
    # Keys in another order than the first line's are the same keys; a blank line is
    # skipped but counted, as an editor counts it.
    reordered = json.dumps(dict(reversed(list(second.items()))))
    data = jsonl_bytes([first, "", "   ", reordered])

    job = run_import(monitor, data, name="cases.jsonl")

    assert [(n, a) for n, a, _, _ in results(job)] == [(1, Action.CREATE), (4, Action.CREATE)]
    one, two = Case.objects.order_by("pk")
    assert (one.latitude, one.longitude, one.reported_quantity) == (
        Decimal("49.993500"),
        Decimal("-36.230400"),
        "3",
    )
    assert (two.title, two.latitude, two.external_id) == ("Second", None, "")


def test_text_is_taken_as_typed_with_no_quote_taken_off(monitor):
    # JSON Lines is exported as typed; only a spreadsheet's quote against formulas is
    # taken off on import.
    run_import(monitor, jsonl_bytes([row(title="'=x' marks on the crates")]), name="c.jsonl")
    assert Case.objects.get().title == "'=x' marks on the crates"


def test_a_byte_order_mark_is_accepted(monitor):
    job = run_import(monitor, b"\xef\xbb\xbf" + jsonl_bytes([row()]), name="cases.jsonl")
    assert job.created == 1, job.message


def test_missing_optional_keys_keep_the_cases_values(monitor):
    job = run_import(monitor, jsonl_bytes([row(external_id="K-1")]), name="c.jsonl")
    assert job.created == 1
    headers = ["external id", "title", "summary", "incident type", "incident start"]
    headers += ["place", "country"]
    again = run_import(monitor, jsonl_bytes([row(external_id="K-1")], headers), name="c.jsonl")
    assert (again.unchanged, again.errors) == (1, 0), again.message
    assert Case.objects.get().weapon_systems.count() == 1


def test_a_file_not_in_utf8_is_refused_saying_so(monitor):
    message = refused(monitor, jsonl_bytes([row(place="Kharkiv – Saltivka")], encoding="cp1252"))
    assert message.startswith("The file is not UTF-8 text (byte 0x96 near byte")


def test_an_unknown_key_is_refused_naming_it(monitor):
    data = jsonl_bytes([{**row(), "Notes": "x"}], headers=[*HEADERS, "Notes"])
    assert refused(monitor, data).startswith(
        "The file has columns this tracker does not know: Notes."
    )


def test_a_missing_required_key_is_refused_naming_it(monitor):
    headers = [h for h in HEADERS if h not in ("title", "country")]
    message = refused(monitor, jsonl_bytes([row()], headers=headers))
    assert "The file lacks the required columns: title, country." in message


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"title": "Cut off', "Line 2 is not JSON: "),
        ("title,summary", "Line 2 is not JSON: "),
        ('["a", "list"]', "Line 2 is not a JSON object: each line must be one case"),
        ("null", "Line 2 is not a JSON object: each line must be one case"),
        ('{"title": ' + "[" * 5000 + "]" * 5000 + "}", "Line 2 is nested too deeply to read"),
        (
            json.dumps({**row(), "weapon systems": ["Artillery ammunition"]}),
            "Line 2: the value of “weapon systems” is not text, a number or null. Weapon "
            "systems and provisions are one text, separated by “; ”.",
        ),
        (
            json.dumps({**row(), "latitude": True}),
            "Line 2: the value of “latitude” is not text, a number or null.",
        ),
        (
            json.dumps({k: v for k, v in row().items() if k != "summary"} | {"notes": ""}),
            "Line 2 has notes and lacks summary: every line must have the keys of the first "
            "(null for an empty value).",
        ),
    ],
)
def test_a_line_that_is_not_a_case_object_refuses_the_file_naming_it(monitor, line, message):
    # Like a CSV record the csv module cannot read: the file is refused as a whole,
    # since what the line meant cannot be told.
    data = jsonl_bytes([row(), line, row(title="Third")])
    assert refused(monitor, data).startswith(message)


def test_a_line_of_too_many_keys_is_refused(monitor):
    wide = {**row(), **{f"k{n}": "x" for n in range(200)}}
    message = refused(monitor, jsonl_bytes([wide], headers=list(wide)))
    assert message == f"Line 1 has {len(wide)} keys; a line may have at most {MAX_COLUMNS}."


def test_a_line_too_long_is_refused(monitor, monkeypatch):
    monkeypatch.setattr("exchange.reading.MAX_LINE_CHARS", 5000)
    data = jsonl_bytes([row(), row(summary="x" * 6000)])
    assert refused(monitor, data) == (
        "Line 2 of the file is longer than 5,000 characters; this is not a list of cases."
    )


def test_too_many_lines_are_refused(monitor, settings):
    settings.IMPORT_MAX_ROWS = 2
    data = jsonl_bytes([row(), row(title="2"), row(title="3")])
    assert refused(monitor, data) == "The file has more than 2 rows; split it and import each part."
    assert run_import(monitor, jsonl_bytes([row(), row(title="2")]), name="c.jsonl").created == 2


def test_a_file_of_blank_lines_is_refused(monitor):
    assert refused(monitor, b"{\n\n").startswith("Line 1 is not JSON")
    assert refused(monitor, b"  \n{}\n").startswith("The file has no header row")


def test_the_upload_form_and_the_api_take_jsonl(client, monitor):
    client.force_login(monitor)
    page = client.get(reverse("imports:list")).content.decode()
    assert "CSV, XLSX or JSON Lines file" in page
    response = client.post(
        reverse("api:imports"), {"file": upload(jsonl_bytes([row()]), "cases.jsonl")}
    )
    assert response.status_code == 202
    imports.preview(response.json()["id"])
    detail = client.get(reverse("api:import", args=[response.json()["id"]])).json()
    assert (detail["status"], detail["created"], detail["errors"]) == ("previewed", 1, 0)
