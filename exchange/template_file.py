"""The file to start an import from: the importable columns and one example row, the
demo's Hwasong-11 debris in Kharkiv (the third incident of demo/incidents.toml), as CSV
and as XLSX."""

import csv
import io
from datetime import date
from decimal import Decimal

from .columns import COLUMNS

HEADERS = [column.header for column in COLUMNS if not column.export_only]
EXAMPLE = {
    "reference": "",
    "external id": "",
    "title": "Debris of a missile that hit Kharkiv derives from a DPRK Hwasong-11",
    "summary": "Debris of a rocket that hit Kharkiv derives from a DPRK Hwasong-11 series "
    "ballistic missile, a violation of the arms embargo. UN monitors could not "
    "independently establish where it was launched from or by whom.",
    "incident type": "battlefield_use",
    "incident start": date(2024, 1, 2),
    "incident end": "",
    "date precision": "day",
    "place": "Kharkiv",
    "latitude": Decimal("49.993500"),
    "longitude": Decimal("36.230400"),
    "country": "UA",
    "supplier": "KP",
    "recipient": "RU",
    "weapon systems": "Hwasong-11 (KN-23/KN-24) ballistic missile",
    "sanctions provisions": "UNSCR 1718 (2006), para. 8 (a), (b); UNSCR 1874 (2009), para. 9",
    "reported quantity": "one missile (debris)",
}


def example_row():
    return [EXAMPLE.get(header, "") for header in HEADERS]


def template_csv():
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    writer.writerow([v.isoformat() if isinstance(v, date) else v for v in example_row()])
    # With a byte-order mark, Excel opens the file as UTF-8.
    return "\ufeff" + text.getvalue()


def template_xlsx():
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Cases")
    sheet.append(HEADERS)
    sheet.append(example_row())
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
