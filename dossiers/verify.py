"""Checking an evidence package against its manifest, as its recipient does: every
file listed is there with the SHA-256 and size the manifest gives, and nothing else is.

It reads only the ZIP: no database, no settings, no stored file. A committee's
analyst with a checkout of this project runs ``manage.py verify_package FILE.zip``
on any machine.
"""

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field

FORMAT = "tracker-evidence-package/1"
MANIFEST_JSON = "manifest.json"
MANIFEST_CSV = "manifest.csv"
DOSSIER_PATH = "dossier.pdf"
CHUNK_SIZE = 1024 * 1024


class Unreadable(Exception):
    """The file is not an evidence package at all; the message says why."""


@dataclass
class Report:
    reference: str = ""
    verified: list = field(default_factory=list)
    # (name, what is wrong)
    mismatched: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    extra: list = field(default_factory=list)

    @property
    def ok(self):
        return not (self.mismatched or self.missing or self.extra)

    def lines(self):
        for name, why in self.mismatched:
            yield f"MISMATCH {name}: {why}"
        for name in self.missing:
            yield f"MISSING  {name}: listed in the manifest, not in the package"
        for name in self.extra:
            yield f"EXTRA    {name}: in the package, not in the manifest"


def verify(path):
    """Check the package at ``path``; returns a Report. Raises Unreadable when it is
    not a ZIP or has no readable manifest."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise Unreadable(f"{path}: no such file.") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise Unreadable(f"{path} is not a ZIP file ({error}): not an evidence package.") from None
    with archive:
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
        data = _manifest(archive, names, path)
        expected = _expected_files(data)
        report = Report(reference=str(data.get("case", {}).get("reference", "")))
        for name, (sha256, size) in expected.items():
            if name not in names:
                report.missing.append(name)
                continue
            problem = _check(archive, name, sha256, size)
            if problem:
                report.mismatched.append((name, problem))
            else:
                report.verified.append(name)
        listed = {*expected, MANIFEST_JSON, MANIFEST_CSV}
        report.extra = sorted(set(names) - listed)
        if MANIFEST_CSV in names:
            report.mismatched += _csv_disagreements(archive, expected)
    return report


def _manifest(archive, names, path):
    if MANIFEST_JSON not in names:
        raise Unreadable(
            f"{path} has no {MANIFEST_JSON}: it is a ZIP file, but not an evidence package "
            "made by the tracker."
        )
    try:
        data = json.loads(archive.read(MANIFEST_JSON))
    except (ValueError, zipfile.BadZipFile) as error:
        raise Unreadable(f"{path}: its {MANIFEST_JSON} cannot be read ({error}).") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise Unreadable(
            f"{path}: its {MANIFEST_JSON} is not an evidence package manifest "
            f"(format {FORMAT!r} expected)."
        )
    return data


def _expected_files(data):
    """{name in the package: (SHA-256, size)}: the dossier and every item's file."""
    try:
        expected = {data["dossier"]["path"]: (data["dossier"]["sha256"], data["dossier"]["size"])}
        for item in data["items"]:
            if item.get("path"):
                expected[item["path"]] = (item["sha256"], item["size"])
    except (KeyError, TypeError) as error:
        raise Unreadable(f"The manifest lacks {error}: it is incomplete.") from None
    return expected


def _check(archive, name, sha256, size):
    """What is wrong with the file ``name``, or "" when its bytes are the manifest's."""
    digest = hashlib.sha256()
    read = 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(CHUNK_SIZE):
                digest.update(chunk)
                read += len(chunk)
    except zipfile.BadZipFile as error:
        # The ZIP's own CRC-32 no longer fits the bytes: changed after packing.
        return f"its bytes were changed after packing ({error})"
    if digest.hexdigest() != sha256:
        return f"SHA-256 is {digest.hexdigest()}, the manifest says {sha256}"
    if read != size:
        return f"{read} bytes, the manifest says {size}"
    return ""


def _csv_disagreements(archive, expected):
    """The CSV manifest must name the same digests as the JSON one."""
    try:
        rows = csv.DictReader(io.StringIO(archive.read(MANIFEST_CSV).decode("utf-8")))
        listed = {row["path"]: row["sha256"] for row in rows if row.get("path")}
    except (ValueError, KeyError, zipfile.BadZipFile) as error:
        return [(MANIFEST_CSV, f"cannot be read ({error})")]
    problems = []
    items = {name: sha for name, (sha, _) in expected.items() if name != DOSSIER_PATH}
    for name in sorted(set(items) | set(listed)):
        if items.get(name) != listed.get(name):
            problems.append((MANIFEST_CSV, f"disagrees with {MANIFEST_JSON} about {name}"))
    return problems
