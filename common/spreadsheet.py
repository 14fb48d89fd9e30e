"""Exports that people open in a spreadsheet: no cell may run as a formula.

A case's title is whatever a monitor typed. Excel, LibreOffice and Google Sheets read a
cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(...)``
sends the reader's data elsewhere, ``+1+cmd|...`` once started programs), and a leading
tab or carriage return hides such a start. Following OWASP's advice on CSV injection,
every exported text that starts with one of these characters is prefixed with a single
quote, which the spreadsheet shows as text. Numbers (``int``, ``Decimal``, ``float``)
are written as they are, so a negative count or coordinate stays a number; a number
held as text (a reported quantity of "-2") is text and gets its quote like any other.

The CSV and XLSX exports and the evidence package's manifest.csv write their cells
through ``spreadsheet_safe``; JSON Lines is read by programs, not spreadsheets, and
keeps the text as it is. ``as_typed`` undoes the quote for an import, so an exported
file imports back to the same text.

An XLSX file also refuses the control characters XML cannot hold (a title pasted with
a stray form feed); ``xlsx_safe`` replaces them with U+FFFD rather than fail the export.
"""

import csv
from decimal import Decimal

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """``value`` as a spreadsheet will read it as data, never as a formula. A text that
    starts with a quote ``as_typed`` would take off is quoted too, so it imports back
    whole ("'-30 °C' shells…")."""
    if value is None or isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) or as_typed(text) != text else text


def as_typed(cell):
    """An exported cell's text as it was typed: without the quote ``spreadsheet_safe``
    put before a formula's first character, or before a quote."""
    if cell.startswith("'") and cell[1:].startswith((*FORMULA_STARTS, "'")):
        return cell[1:]
    return cell


def xlsx_safe(value):
    """``spreadsheet_safe``, and text without the characters an XLSX cannot hold."""
    value = spreadsheet_safe(value)
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through ``spreadsheet_safe``."""

    def __init__(self, file, **options):
        self._writer = csv.writer(file, **options)

    def writerow(self, row):
        return self._writer.writerow([spreadsheet_safe(value) for value in row])
