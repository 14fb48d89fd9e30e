"""The case list as a file: CSV, JSON Lines or XLSX, every column of
``exchange.columns`` for each case, whatever the list's length, in bounded memory.

The cases are read a chunk at a time (``CHUNK`` rows, each chunk with its creators
joined and its weapon systems and provisions prefetched: three queries), so an export
of the whole archive costs a few queries per chunk and holds one chunk in memory. CSV
and JSON Lines are streamed as they are written. An XLSX file is a zip archive whose
directory comes last, and openpyxl writes one only to a file: its write-only workbook
writes each row to a temporary file on disk as it comes, and the finished archive is
served from a temporary file, so memory stays flat there too (the reader waits for the
whole file before its first byte).
"""

import json
import tempfile
from decimal import Decimal

from django.http import FileResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES

from common.spreadsheet import SafeCsvWriter, xlsx_safe

from .columns import COLUMNS, HEADERS

CHUNK = 2000
# Handed to the server in pieces of about this many characters, not a line at a time.
PIECE = 64 * 1024
# Excel reads a CSV file as UTF-8 only if it starts with the byte order mark.
BOM = "\ufeff"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def rows(cases, team):
    """Each case's cells, in the columns' order. ``team``: whether the reader works on
    cases; for anyone else the team-only columns are left empty."""
    hidden = [column.team_only and not team for column in COLUMNS]
    for case in cases.iterator(chunk_size=CHUNK):
        yield [
            "" if hide else column.read(case) for column, hide in zip(COLUMNS, hidden, strict=True)
        ]


def in_pieces(lines):
    piece, size = [], 0
    for line in lines:
        piece.append(line)
        size += len(line)
        if size >= PIECE:
            yield "".join(piece)
            piece, size = [], 0
    if piece:
        yield "".join(piece)


class Echo:
    """A file for csv.writer that hands each written line back."""

    def write(self, line):
        return line


def csv_lines(cases, team):
    writer = SafeCsvWriter(Echo())
    yield BOM + writer.writerow(HEADERS)
    for row in rows(cases, team):
        yield writer.writerow(row)


def json_lines(cases, team):
    for row in rows(cases, team):
        yield (
            json.dumps(dict(zip(HEADERS, row, strict=True)), ensure_ascii=False, default=number)
            + "\n"
        )


def number(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def write_xlsx(cases, team, file):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Cases")
    sheet.freeze_panes = "A2"
    sheet.append(HEADERS)
    for row in rows(cases, team):
        sheet.append([xlsx_cell(sheet, cell) for cell in row])
    workbook.save(file)


def xlsx_cell(sheet, value):
    """``value`` as an XLSX cell. openpyxl writes a text that is an error value's name
    ("#N/A", a quantity typed as unknown) as that error, which the import refuses:
    such a text is written as text."""
    value = xlsx_safe(value)
    if isinstance(value, str) and value in ERROR_CODES:
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value


def csv_response(cases, team):
    return streamed(in_pieces(csv_lines(cases, team)), "text/csv; charset=utf-8", "cases.csv")


def jsonl_response(cases, team):
    return streamed(
        in_pieces(json_lines(cases, team)), "application/jsonl; charset=utf-8", "cases.jsonl"
    )


def xlsx_response(cases, team):
    file = tempfile.TemporaryFile()
    write_xlsx(cases, team, file)
    file.seek(0)
    # FileResponse closes the file, and so deletes it, once it is sent.
    return FileResponse(file, as_attachment=True, filename="cases.xlsx", content_type=XLSX_TYPE)


def streamed(pieces, content_type, filename):
    response = StreamingHttpResponse(pieces, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


RESPONSES = {"csv": csv_response, "jsonl": jsonl_response, "xlsx": xlsx_response}
