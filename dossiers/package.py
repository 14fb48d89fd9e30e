"""A case's evidence package: its evidence files, the dossier PDF and a manifest (JSON
and CSV) naming each file's item, source and grade, stance, original name, SHA-256,
size and chain of custody, as one ZIP streamed to the recipient.

The ZIP is made by zipstream-ng as it is sent: each file is read from the store a
chunk at a time (``evidence.files.chunks_of``), so memory does not grow with the
evidence, and since every size is known beforehand the response carries its length
(browsers show progress) with ZIP64 used only when the sizes need it. Python's
zipfile on an unseekable stream would give neither the length nor a tested writer.

``dossiers.verify`` reads the same format without the database.
"""

import hashlib
import io
import json
import os
from dataclasses import dataclass

import zipstream

from common.spreadsheet import SafeCsvWriter
from evidence.files import chunks_of, download_name, path_of

from .verify import DOSSIER_PATH, FORMAT, MANIFEST_CSV, MANIFEST_JSON

CSV_COLUMNS = (
    "item",
    "title",
    "source",
    "source_grade",
    "reporting_outlet",
    "reporting_outlet_grade",
    "stance",
    "credibility",
    "original_filename",
    "path",
    "sha256",
    "size",
    "custody",
)


class MissingFiles(Exception):
    """Some stored file of the case is not in the store; the message names the items."""


@dataclass(frozen=True)
class Package:
    stream: zipstream.ZipStream
    filename: str

    @property
    def size(self):
        return len(self.stream)


# The longest file name, in UTF-8 bytes, that Linux, macOS and Windows file systems
# all hold (Windows counts UTF-16 units, never more than the UTF-8 bytes).
NAME_MAX_BYTES = 255


def file_path(item):
    """Where the item's file sits in the package: under its item number, so two items
    citing files of one name (or the same file) never collide. The name is cut, its
    extension kept, to what a file system holds, or the recipient could not unpack the
    file (an uploaded name may be 255 characters, and more bytes); the manifest keeps
    the original name whole."""
    prefix = f"{item.pk}-"
    name = download_name(item.file, item.original_filename)
    return f"evidence/{prefix}{fitted(name, NAME_MAX_BYTES - len(prefix))}"


def fitted(name, limit):
    """``name`` cut to at most ``limit`` bytes in UTF-8, keeping its extension when
    that fits, never cutting a character in two."""
    if len(name.encode()) <= limit:
        return name
    stem, extension = os.path.splitext(name)
    if len(extension.encode()) >= limit // 2:
        stem, extension = name, ""
    budget = limit - len(extension.encode())
    return stem.encode()[:budget].decode(errors="ignore") + extension


def grade(source):
    if source is None:
        return ""
    return source.reliability if source.is_graded else "not yet graded"


def manifest(entry, dossier, dossier_pdf, packed):
    """The manifest of one case's package, as a dict (written as JSON); ``packed``:
    the pks of the items whose files it holds."""
    case = entry.case
    names = dossier.review_record
    items = []
    for item in entry.evidence:
        items.append(
            {
                "item": item.pk,
                "title": item.title,
                "source": item.source.name,
                "source_grade": grade(item.source),
                "reporting_outlet": item.reporting_outlet.name if item.reporting_outlet else "",
                "reporting_outlet_grade": grade(item.reporting_outlet),
                "stance": item.stance,
                "credibility": item.credibility,
                "original_filename": item.original_filename if item.file_id else "",
                "path": file_path(item) if item.pk in packed else "",
                "sha256": item.file.sha256 if item.file_id else "",
                "size": item.file.size if item.file_id else None,
                "content_type": item.file.content_type if item.file_id else "",
                "custody": [
                    {
                        "action": event.action,
                        "at": event.at.isoformat(),
                        # Names are the team's record, as on the case page.
                        "actor": (str(event.actor) if event.actor else "system") if names else "",
                        "sha256": event.sha256,
                        "note": event.note,
                    }
                    for event in item.custody.all()
                ],
            }
        )
    return {
        "format": FORMAT,
        "case": {"reference": case.reference, "title": case.title, "state": case.state},
        "generated_at": dossier.generated_at.isoformat(),
        "generated_by": dossier.generated_by.get_username(),
        "dossier": {
            "path": DOSSIER_PATH,
            "sha256": hashlib.sha256(dossier_pdf).hexdigest(),
            "size": len(dossier_pdf),
        },
        "items": items,
    }


def manifest_csv(data):
    """The manifest's items as CSV, one row an item; custody events as
    "action at actor" separated by "; ". Opened in a spreadsheet, no cell runs as a
    formula (a title, a source's or a file's name are what a monitor typed)."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(CSV_COLUMNS)
    for item in data["items"]:
        custody = "; ".join(
            " ".join(filter(None, (e["action"], e["at"], e["actor"]))) for e in item["custody"]
        )
        row = {**item, "custody": custody, "size": item["size"] or ""}
        writer.writerow([row[column] for column in CSV_COLUMNS])
    return out.getvalue().encode()


def check_files(items):
    """Raise MissingFiles, naming the items, when a file of ``items`` is not in the
    store: a package without it would fail its recipient's check, so none is made
    (and no export is put on record)."""
    missing = [item for item in items if not path_of(item.file).is_file()]
    if missing:
        raise MissingFiles(
            "The stored file of "
            + ", ".join(f"evidence item {item.pk} (“{item.title}”)" for item in missing)
            + " is missing; the integrity check reports it. No package was made."
        )


def build(entry, dossier, dossier_pdf, takeable):
    """The package of one case, ready to stream, with the files of the items whose pks
    are ``takeable`` (those the user may download, checked by ``check_files``)."""
    takeable = set(takeable)
    with_files = [item for item in entry.evidence if item.file_id and item.pk in takeable]
    data = manifest(entry, dossier, dossier_pdf, {item.pk for item in with_files})
    stream = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED, sized=True)
    stream.add(json.dumps(data, indent=2, ensure_ascii=False).encode(), MANIFEST_JSON)
    stream.add(manifest_csv(data), MANIFEST_CSV)
    stream.add(dossier_pdf, DOSSIER_PATH)
    for item in with_files:
        stream.add(chunks_of(item.file), file_path(item), size=item.file.size)
    return Package(stream, f"{entry.case.reference}-evidence.zip")
