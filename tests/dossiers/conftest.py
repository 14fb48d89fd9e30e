import io
import struct
import zlib

import pytest
from django.core.files.base import ContentFile
from pypdf import PdfWriter

from evidence.custody import add_evidence
from tests import factories
from tracker import workflow


def png(width=4, height=3):
    """A real PNG image (grey pixels)."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + bytes([128]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf():
    """A real one-page PDF."""
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


FILES = {
    "UN monitors' report.pdf": pdf(),
    "debris photo.png": png(),
    "briefing transcript.txt": b"Kirby: the debris derives from a DPRK Hwasong-11.\n" * 40,
}


def add_file(case, monitor, name, content, **fields):
    return add_evidence(
        case,
        monitor,
        upload=ContentFile(content),
        original_filename=name,
        **{
            "source": factories.SourceFactory(),
            "kind": "document",
            "stance": "supports",
            "title": f"Item {name}",
            **fields,
        },
    )


@pytest.fixture
def filed_case(db, monitor, reviewer):
    """A Kharkiv-debris case with three real files (two supporting sources, one
    refuting), an item without a file, approved below the minimum with a justification
    after changes were requested once."""
    case = factories.CaseFactory(
        created_by=monitor,
        title="Debris of a missile that hit Kharkiv derives from a DPRK Hwasong-11",
        place_name="Kharkiv",
        country="UA",
    )
    un = factories.SourceFactory(name="UN Panel of Experts", reliability="A")
    kremlin = factories.SourceFactory(name="Kremlin spokesman", reliability="D")
    names = list(FILES)
    add_file(case, monitor, names[0], FILES[names[0]], source=un, title="UN monitors: Hwasong-11")
    add_file(case, monitor, names[1], FILES[names[1]], source=un, kind="image", title="Photograph")
    add_file(
        case, monitor, names[2], FILES[names[2]], source=kremlin, stance="refutes", title="Denial"
    )
    add_evidence(
        case,
        monitor,
        source=factories.SourceFactory(proposed=True, name="38 North"),
        kind="media_report",
        stance="context",
        title="Background on the Hwasong-11",
        url="https://example.org/hwasong-11",
    )
    workflow.submit(case, monitor, "First look.")
    workflow.start_review(case, reviewer)
    workflow.request_changes(case, reviewer, "Name the UN report's paragraph.")
    workflow.submit(case, monitor, "Paragraph 42 named.")
    workflow.start_review(case, reviewer)
    workflow.approve(
        case, reviewer, "Consistent.", justification="The UN Panel's finding stands alone."
    )
    case.refresh_from_db()
    return case
