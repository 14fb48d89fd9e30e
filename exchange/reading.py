"""Reading an uploaded CSV, XLSX or JSON Lines file safely, a row at a time.

A file is refused as a whole (``FileRefused``, with a message for the person who
uploaded it) when it cannot be read as the table it claims to be: text that is not
UTF-8, a workbook that would decompress to more than ``IMPORT_MAX_UNPACKED_MB``, a row
wider than ``MAX_COLUMNS`` or a line longer than ``MAX_LINE_CHARS``, more than
``IMPORT_MAX_ROWS`` rows, a header with a blank or repeated name. What a cell *means*
is the import's business (``exchange.imports``); this module only hands over cells.

The kind of file is read from its bytes, never from its name: an XLSX workbook is a zip
archive, text whose first character is "{" is JSON Lines (as the JSONL export writes
it: one object a line, keyed by the column headers), anything else is taken for CSV.
A JSON Lines file's header is its first object's keys; every other line must have the
same keys, and a line that is not a JSON object of text, numbers and nulls refuses the
file, as a CSV record the csv module cannot read does.

Memory stays bounded whatever the file: CSV and JSON Lines are decoded and split as
they are read, with each line's length capped before the csv module builds its row; XLSX is read by
openpyxl's read_only mode, which parses the sheet's XML as a stream.
"""

import codecs
import csv
import io
import itertools
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings

# A case has about twenty columns; a row far wider is not a table of cases, and a
# 16,384-column row would otherwise be padded and held cell by cell.
MAX_COLUMNS = 100
# One physical line of CSV text, before the csv module splits it: bounds the memory a
# line of millions of commas could take.
MAX_LINE_CHARS = 1_000_000
# The csv module's own limit on a cell (131,072 characters by default, for the whole
# process) would refuse a long summary our own export wrote; a line's limit is the one
# that bounds memory.
csv.field_size_limit(MAX_LINE_CHARS)
# How much of a CSV file is checked for its encoding before any row is read, so a file
# in Windows-1252 is refused at once, not after thousands of rows.
ENCODING_PROBE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t")
ZIP_MAGIC = b"PK\x03\x04"
# An Excel 97-2003 workbook (.xls), an OLE2 compound file.
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

CSV, XLSX, JSONL = "csv", "xlsx", "jsonl"
# A UTF-8 byte order mark, and the white space JSON allows before an object.
UTF8_BOM = b"\xef\xbb\xbf"
JSON_SPACE = b" \t\r\n"


class FileRefused(Exception):
    """The file as a whole cannot be imported; the message says why, for its uploader."""


@dataclass(frozen=True)
class Formula:
    """An XLSX cell holding a formula: the import reads values, never formulas."""

    text: str

    def __str__(self):
        return self.text


@dataclass(frozen=True)
class CellError:
    """An XLSX cell holding a spreadsheet's error value (#N/A, #VALUE! …), which is no
    value at all: a lookup pasted as values where it found nothing."""

    text: str

    def __str__(self):
        return self.text


def max_rows():
    return settings.IMPORT_MAX_ROWS


def kind_of(path):
    """CSV, XLSX or JSON Lines, from the file's first bytes."""
    with open(path, "rb") as file:
        start = file.read(ENCODING_PROBE_BYTES)
    if start.removeprefix(UTF8_BOM).lstrip(JSON_SPACE).startswith(b"{"):
        return JSONL
    if start.startswith(ZIP_MAGIC):
        return XLSX
    if start.startswith(OLE2_MAGIC):
        raise FileRefused(
            "This is an Excel 97-2003 workbook (.xls), which is not read: save it as an "
            "Excel workbook (.xlsx) or as CSV UTF-8 and upload that."
        )
    return CSV


class Table:
    """A file's header and rows. ``rows()`` yields (row number as a spreadsheet shows
    it, cells), skipping rows with no value; ``fraction_read()`` says how far it got."""

    kind = None

    def __init__(self, path):
        self.path = path
        self.header = []

    def fraction_read(self):
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def open_table(path):
    """The file at ``path`` as a Table (use it as a context manager); FileRefused when
    it cannot be read as one."""
    table = {XLSX: XlsxTable, JSONL: JsonlTable, CSV: CsvTable}[kind_of(path)](path)
    try:
        table.open()
    except BaseException:
        table.close()
        raise
    return table


def check_header(cells):
    """The header's names, stripped; refused when one is blank (a merged header cell
    leaves the cells it covers blank) or repeated."""
    header = [clean_text(cell) for cell in trimmed(cells)]
    if not header:
        raise FileRefused("The file has no header row: its first row must name the columns.")
    check_width(header, 1)
    nul = [column_letter(i) for i, name in enumerate(header) if "\x00" in name]
    if nul:
        raise FileRefused(
            f"The header row holds a NUL character in column {', '.join(nul)}: this is not "
            "a table of cases."
        )
    blank = [column_letter(i) for i, name in enumerate(header) if not name]
    if blank:
        raise FileRefused(
            f"The header row has no name in column {', '.join(blank)}. Each column needs "
            "its own header (merged header cells leave the cells they cover blank)."
        )
    seen = set()
    repeated = [name for name in header if name.casefold() in seen or seen.add(name.casefold())]
    if repeated:
        raise FileRefused(f"The header row names {', '.join(repeated)} more than once.")
    return header


def check_width(cells, number):
    if len(cells) > MAX_COLUMNS:
        raise FileRefused(
            f"Row {number} has {len(cells):,} columns; a file may have at most {MAX_COLUMNS}."
        )


def trimmed(cells):
    """The cells without the empty ones at the end of the row."""
    cells = list(cells)
    while cells and is_blank(cells[-1]):
        cells.pop()
    return cells


def is_blank(cell):
    return cell is None or (isinstance(cell, str) and not cell.strip())


def clean_text(cell):
    return "" if cell is None else str(cell).strip()


def column_letter(index):
    """ "A" for the first column, "AA" for the 27th: as the spreadsheet labels it."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


class TextTable(Table):
    """A table in a text file (CSV, JSON Lines): UTF-8, read a line at a time."""

    def open_text(self, newline=None):
        self.file = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        self.size = max(1, self.file.seek(0, io.SEEK_END))
        self.file.seek(0)
        check_utf8(self.file.read(ENCODING_PROBE_BYTES))
        self.file.seek(0)
        # utf-8-sig drops the byte-order mark Excel writes at the start of "CSV UTF-8".
        self.text = io.TextIOWrapper(
            self.file, encoding="utf-8-sig", errors="strict", newline=newline
        )

    def fraction_read(self):
        return min(1.0, self.file.tell() / self.size)

    def close(self):
        file = getattr(self, "file", None)
        if file is not None:
            file.close()


class CsvTable(TextTable):
    kind = CSV

    def open(self):
        self.open_text(newline="")
        first_line = self.text.readline(MAX_LINE_CHARS + 1)
        self.delimiter = sniff_delimiter(first_line)
        self.lines = self._lines(first_line)
        self.reader = csv.reader(self.lines, delimiter=self.delimiter)
        self.header = check_header(self._next_row() or [])
        self.number = 1

    def _lines(self, first_line):
        yield self._checked_line(first_line)
        while True:
            try:
                line = self.text.readline(MAX_LINE_CHARS + 1)
            except UnicodeDecodeError as error:
                raise FileRefused(not_utf8(error, self.file.tell())) from error
            if not line:
                return
            yield self._checked_line(line)

    def _checked_line(self, line):
        if len(line) > MAX_LINE_CHARS:
            raise FileRefused(
                f"A line of the file is longer than {MAX_LINE_CHARS:,} characters; "
                "this is not a table of cases."
            )
        return line

    def _next_row(self):
        """The next record's cells ([] for a blank line), None at the end."""
        try:
            return next(self.reader, None)
        except csv.Error as error:
            raise FileRefused(f"Row {self.number + 1} cannot be read as CSV: {error}.") from error

    def rows(self):
        # Numbered by record, as a spreadsheet numbers its rows: a quoted cell running
        # over several lines is still one row.
        while (row := self._next_row()) is not None:
            self.number += 1
            cells = trimmed(row)
            if not cells:
                continue
            check_width(cells, self.number)
            if self.number - 1 > max_rows():
                raise too_many_rows()
            yield self.number, cells


class JsonlTable(TextTable):
    """JSON Lines: the header is the first object's keys, and each line's cells are its
    values in the header's order. A row is numbered by its line, as an editor shows it."""

    kind = JSONL

    def open(self):
        self.open_text()
        self.lines = self._objects()
        first = next(self.lines, None)
        if first is None:
            raise FileRefused("The file holds no JSON object: each line must be one.")
        self.first = first
        number, record = first
        check_keys(record, number)
        self.header = check_header(record.keys())
        self.keys = set(self.header)

    def _objects(self):
        """(line number, object) for each line that is not blank."""
        number = 0
        while True:
            try:
                line = self.text.readline(MAX_LINE_CHARS + 1)
            except UnicodeDecodeError as error:
                raise FileRefused(not_utf8(error, self.file.tell())) from error
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE_CHARS:
                raise FileRefused(
                    f"Line {number} of the file is longer than {MAX_LINE_CHARS:,} characters; "
                    "this is not a list of cases."
                )
            if line.strip():
                yield number, json_object(line, number)

    def rows(self):
        for number, record in itertools.chain([self.first], self.lines):
            check_keys(record, number)
            keys = {clean_text(key) for key in record}
            if keys != self.keys:
                raise FileRefused(different_keys(number, keys - self.keys, self.keys - keys))
            # No header line: line 1 is the first case.
            if number > max_rows():
                raise too_many_rows()
            by_key = {clean_text(key): value for key, value in record.items()}
            cells = trimmed(by_key[name] for name in self.header)
            if cells:
                yield number, cells


def json_object(line, number):
    """A line's object, its numbers as written (Decimal, not float); FileRefused when
    the line is not a JSON object of text, numbers and nulls."""
    try:
        record = json.loads(line, parse_float=Decimal)
    except ValueError as error:
        raise FileRefused(f"Line {number} is not JSON: {error}.") from error
    except RecursionError as error:
        raise FileRefused(
            f"Line {number} is nested too deeply to read: each value must be text, a number "
            "or null."
        ) from error
    if not isinstance(record, dict):
        raise FileRefused(
            f"Line {number} is not a JSON object: each line must be one case, "
            '{"title": "…", …}, keyed by the column headers.'
        )
    for key, value in record.items():
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal | None):
            raise FileRefused(
                f"Line {number}: the value of “{key}” is not text, a number or null. "
                "Weapon systems and provisions are one text, separated by “; ”."
            )
    return record


def check_keys(record, number):
    if len(record) > MAX_COLUMNS:
        raise FileRefused(
            f"Line {number} has {len(record):,} keys; a line may have at most {MAX_COLUMNS}."
        )


def different_keys(number, extra, lacking):
    problems = []
    if extra:
        problems.append(f"has {', '.join(sorted(extra))}")
    if lacking:
        problems.append(f"lacks {', '.join(sorted(lacking))}")
    return (
        f"Line {number} {' and '.join(problems)}: every line must have the keys of the "
        "first (null for an empty value)."
    )


def check_utf8(sample):
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # final=False: a character cut in two at the end of the sample is not an error.
        decoder.decode(sample, final=False)
    except UnicodeDecodeError as error:
        raise FileRefused(not_utf8(error, error.start)) from error


def not_utf8(error, position):
    return (
        f"The file is not UTF-8 text (byte 0x{error.object[error.start]:02x} near byte "
        f"{position:,} is not UTF-8). Save it as “CSV UTF-8” (Excel) or with the UTF-8 "
        "character set (LibreOffice) and upload that."
    )


def sniff_delimiter(line):
    """The delimiter the header line uses: a comma, or a semicolon as spreadsheets in
    many European locales write, or a tab. The one that splits the line into the most
    columns wins (a header is a row of short names, none holding the others)."""
    counts = {d: len(next(csv.reader([line], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])


def too_many_rows():
    return FileRefused(
        f"The file has more than {max_rows():,} rows; split it and import each part."
    )


class XlsxTable(Table):
    kind = XLSX

    def open(self):
        check_unpacked_size(self.path)
        # Imported here: only an XLSX upload needs openpyxl.
        from openpyxl import load_workbook

        # A file object, not the path: openpyxl would judge a path by its extension, and
        # the stored file has none.
        self.file = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        try:
            # read_only: the sheet's rows are parsed as they are iterated, not loaded.
            self.workbook = load_workbook(self.file, read_only=True, data_only=False)
        except Exception as error:  # openpyxl raises many kinds for a damaged file
            raise FileRefused(
                f"The file is not an Excel workbook (.xlsx) that can be read: {error}"
            ) from error
        self.sheet = self.workbook.worksheets[0]
        self.total_rows = self.sheet.max_row or 0
        self.done = 0
        # One column more than allowed, so a wider row is seen (and refused) without
        # openpyxl padding every row to a sheet's full 16,384 columns.
        self.cells = self.sheet.iter_rows(max_col=MAX_COLUMNS + 1)
        first = next(self.cells, ())
        self.header = check_header(cell_value(cell) for cell in first)

    def rows(self):
        # openpyxl yields every row from the second, empty ones in gaps included.
        for number, row in enumerate(self.cells, start=2):
            self.done = number
            cells = trimmed(cell_value(cell) for cell in row)
            if not cells:
                continue
            check_width(cells, number)
            if number - 1 > max_rows():
                raise too_many_rows()
            yield number, cells

    def fraction_read(self):
        return min(1.0, self.done / self.total_rows) if self.total_rows else 0.0

    def close(self):
        workbook = getattr(self, "workbook", None)
        if workbook is not None:
            workbook.close()
        file = getattr(self, "file", None)
        if file is not None:
            file.close()


def cell_value(cell):
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(cell.value))
    if getattr(cell, "data_type", None) == "e":
        return CellError(str(cell.value))
    value = cell.value
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def check_unpacked_size(path):
    """Refuse a workbook whose parts would unpack to more than IMPORT_MAX_UNPACKED_MB,
    from the sizes the zip's central directory declares, before anything is unpacked.
    A part that claims less than it holds is no way round this: Python's zipfile stops
    at the declared size (and reports the broken checksum)."""
    limit = settings.IMPORT_MAX_UNPACKED_BYTES
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as error:
        raise FileRefused(f"The file is not an Excel workbook (.xlsx): {error}.") from error
    unpacked = sum(member.file_size for member in members)
    if unpacked > limit or len(members) > 10_000:
        raise FileRefused(
            f"The workbook would unpack to {unpacked / 2**20:,.0f} MB; at most "
            f"{limit / 2**20:,.0f} MB is read. Split it, or save it as CSV."
        )


def is_date(value):
    return isinstance(value, date)
