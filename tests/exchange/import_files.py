"""Real CSV, XLSX and JSON Lines files for the import tests, made here (openpyxl for XLSX), and
what the tests share: the demo's reference values, a job run as the task runs it."""

import csv
import io
import json
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from exchange import imports
from exchange.models import ImportJob
from exchange.template_file import EXAMPLE, HEADERS
from tracker.models import SanctionsProvision, WeaponSystem

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def reference_data():
    """The demo's weapon systems and provisions that the template's example names."""
    WeaponSystem.objects.get_or_create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")
    WeaponSystem.objects.get_or_create(name="Artillery ammunition")
    SanctionsProvision.objects.get_or_create(
        resolution="1718 (2006)", paragraph="8 (a), (b)", defaults={"summary": "Arms embargo."}
    )
    SanctionsProvision.objects.get_or_create(
        resolution="1874 (2009)", paragraph="9", defaults={"summary": "Extends it."}
    )


def row(**changes):
    """The template's example as a dict of text cells, with ``changes`` (header with
    underscores for spaces)."""
    cells = {h: (v.isoformat() if hasattr(v, "isoformat") else str(v)) for h, v in EXAMPLE.items()}
    cells.update({k.replace("_", " "): v for k, v in changes.items()})
    return cells


def csv_bytes(rows, headers=None, delimiter=",", encoding="utf-8", bom=False):
    headers = headers or HEADERS
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(headers)
    for cells in rows:
        writer.writerow([cells.get(h, "") for h in headers] if isinstance(cells, dict) else cells)
    data = text.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def jsonl_bytes(rows, headers=None, encoding="utf-8"):
    """JSON Lines as the export writes it: one object a line, keyed by the headers; a
    row that is not a dict is written as it is (a line of text)."""
    headers = headers or HEADERS
    lines = [
        json.dumps({h: cells.get(h) for h in headers}, ensure_ascii=False)
        if isinstance(cells, dict)
        else cells
        for cells in rows
    ]
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(rows, headers=None, prepare=None):
    """An XLSX workbook; ``prepare(sheet)`` may change the sheet before it is saved."""
    headers = headers or HEADERS
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for cells in rows:
        sheet.append([cells.get(h) for h in headers] if isinstance(cells, dict) else cells)
    if prepare:
        prepare(sheet)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bomb(unpacked_bytes):
    """A zip whose one part unpacks to ``unpacked_bytes`` of zeros: a few KB packed."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            chunk = b"\0" * 2**20
            for _ in range(unpacked_bytes // len(chunk)):
                part.write(chunk)
    return out.getvalue()


def upload(data, name="cases.csv"):
    return SimpleUploadedFile(name, data)


def run_import(user, data, name="cases.csv", create_missing=False, confirm=True):
    """Upload, preview and (when ``confirm`` and the preview allows it) apply, calling
    the functions the tasks call; the job, fresh from the database."""
    job = imports.start(user, upload(data, name), create_missing)
    imports.preview(job.pk)
    job.refresh_from_db()
    if confirm and job.may_confirm and imports.confirm(job, user):
        imports.apply(job.pk)
        job.refresh_from_db()
    return job


def results(job):
    return [(r.number, r.action, r.reference, r.messages) for r in job.results.all()]


def messages(job):
    return [(r.number, m["column"], m["message"]) for r in job.results.all() for m in r.messages]


__all__ = ["ImportJob"]
