import hashlib
import random

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from evidence import files
from evidence.custody import add_evidence
from evidence.files import CHUNK_SIZE, UploadRejected, ingest
from evidence.models import EvidenceItem, StoredFile
from tests import factories

PDF_HEADER = b"%PDF-1.7\n"


def stored_files_on_disk(root):
    return [p for p in root.rglob("*") if p.is_file()]


def pdf_of_size(size, seed):
    body = random.Random(seed).randbytes(max(size - len(PDF_HEADER), 0))
    return (PDF_HEADER + body)[:size] if size >= len(PDF_HEADER) else PDF_HEADER


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    boundary=st.sampled_from([1, 2, 3]),
    offset=st.integers(min_value=-2, max_value=2),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_the_stored_digest_is_the_sha256_of_the_bytes_around_chunk_boundaries(
    evidence_root, boundary, offset, seed
):
    data = pdf_of_size(boundary * CHUNK_SIZE + offset, seed)
    stored, _ = ingest(ContentFile(data), "report.pdf")

    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    on_disk = files.path_of(stored)
    assert on_disk.read_bytes() == data
    assert on_disk.name == stored.sha256


def test_uploads_are_hashed_scanned_and_written_off_thread_in_the_order_the_chunks_arrive(
    tmp_path,
):
    body = b"".join(random.Random(n).randbytes(n * 997 % 70_000 + 1) for n in range(200))
    # A tag cut by a border between the chunks below, and a later one: the first
    # refuses the file whatever its type, so the search stops there.
    body = body[:2_949_160] + b"<IFRAME src=x>" + body[2_949_160:] + b"<script>"
    chunks = [body[i : i + 65_537] for i in range(0, len(body), 65_537)]
    scanner = files.MarkupScanner()
    with open(tmp_path / "spooled", "wb") as spooled:
        spooler = files.BackgroundSpooler(spooled, scanner)
        for chunk in chunks:
            spooler.update(chunk)
        assert spooler.hexdigest() == hashlib.sha256(body).hexdigest()
    assert (tmp_path / "spooled").read_bytes() == body
    assert scanner.found == {"<iframe": 2_949_160}


def test_identical_bytes_are_stored_once(evidence_root, db):
    first, _ = ingest(ContentFile(PDF_HEADER + b"NIS briefing"), "briefing.pdf")
    second, name = ingest(ContentFile(PDF_HEADER + b"NIS briefing"), "copy of briefing.pdf")
    assert first == second
    assert name == "copy of briefing.pdf"
    assert StoredFile.objects.count() == 1
    assert len(stored_files_on_disk(evidence_root)) == 1


def test_stored_files_are_read_only(evidence_root, db):
    stored, _ = ingest(ContentFile(PDF_HEADER + b"x"), "a.pdf")
    assert files.path_of(stored).stat().st_mode & 0o222 == 0


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("../../etc/passwd.pdf", PDF_HEADER + b"x", "contains a path"),
        ("..\\..\\boot.ini.pdf", PDF_HEADER + b"x", "contains a path"),
        ("report\x00.pdf", PDF_HEADER + b"x", "control or invisible characters"),
        ("invoice\u202efdp.exe", PDF_HEADER + b"x", "control or invisible characters"),
        ("report.pdf\n", PDF_HEADER + b"x", "control or invisible characters"),
        ("scan\u200e.pdf", PDF_HEADER + b"x", "control or invisible characters"),
        ("ledger\x1b[31m.csv", b"a,b\n", "control or invisible characters"),
        ("photo.gif", b"GIF89a<html><script>alert(1)</script></html>", "HTML or SVG markup"),
        ("photo.jpg", b"\xff\xd8\xff\xe0 <!DOCTYPE html><body onload=x()>", "HTML or SVG markup"),
        ("report.pdf", PDF_HEADER + bytes(1100) + b"<html><script>x()</script>", "<html"),
        ("photo.gif", b"GIF89a" + bytes(3000) + b"<svg/onload=alert(1)>", '"<svg" tag'),
        (
            "map.txt",
            b"<!-- " + b"notes " * 2000 + b"-->\n<svg onload=x()>",
            "starts like a web page",
        ),
        ("page.txt", "\ufeff<html><body>x</body></html>".encode("utf-16"), '"<html" tag'),
        ("page.txt", "<HTML>\n<SCRIPT>x()</SCRIPT>".encode("utf-16-be"), '"<html" tag'),
        ("page.txt", b"\xef\xbb\xbf \n\t<SvG\tonload=x()>", '"<svg" tag'),
        ("page.txt", b"<div onmouseover=x()>Kharkiv</div>", "starts like a web page"),
        ("data.xml", b'<?xml version="1.0"?><report/>', "starts like a web page"),
        ("tool.pdf", b"MZ\x90\x00" + bytes(200), "application/x-msdownload file"),
        ("archive.pdf", b"PK\x03\x04" + bytes(200), "application/zip file"),
        ("blob.bin", bytes([0, 159, 146, 150]) * 50, "could not be recognised"),
        ("empty.txt", b"", "is empty"),
    ],
)
def test_hostile_or_forbidden_uploads_are_refused_leaving_nothing(
    case_factory, monitor, evidence_root, name, data, message
):
    case = case_factory("draft")
    source = factories.SourceFactory()
    with pytest.raises(UploadRejected, match=message):
        add_evidence(
            case,
            monitor,
            upload=ContentFile(data),
            original_filename=name,
            source=source,
            kind="document",
            stance="supports",
            title="Leaked manifest",
        )
    assert not EvidenceItem.objects.exists()
    assert not StoredFile.objects.exists()
    assert stored_files_on_disk(evidence_root) == []


PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("photo.png", PNG_HEADER + bytes(20_000) + b"<script>x()</script>", '"<script" tag'),
        ("photo.png", PNG_HEADER + bytes(2_000) + b"<svg ", '"<svg" tag'),
        ("report.pdf", PDF_HEADER + bytes(200_000) + b"<svg ", '"<svg" tag'),
    ],
)
def test_markup_is_refused_wherever_it_could_run(db, evidence_root, name, data, message):
    with pytest.raises(UploadRejected, match=message):
        ingest(ContentFile(data), name)
    assert not StoredFile.objects.exists()


def test_a_short_tag_deep_in_an_image_is_chance_not_markup(db, evidence_root):
    # Compressed bytes hold "<svg " or "<html>" by chance; far past the bytes a browser
    # sniffs, in a file only ever handed out as an attachment, it is no page.
    stored, _ = ingest(ContentFile(PNG_HEADER + bytes(20_000) + b"<SvG <html>"), "photo.png")
    assert stored.content_type == "image/png"


@pytest.mark.parametrize("offset", range(-20, 2))
def test_markup_split_across_chunks_is_found(db, evidence_root, offset):
    # The marker straddles the border between two of the chunks the file is read in.
    data = (
        PDF_HEADER + bytes(CHUNK_SIZE + offset - len(PDF_HEADER)) + "<script>".encode("utf-16-le")
    )
    with pytest.raises(UploadRejected, match='"<script" tag'):
        ingest(ContentFile(data), "report.pdf")
    assert not StoredFile.objects.exists()


def test_an_oversized_upload_is_refused_with_the_limit(
    case_factory, monitor, settings, evidence_root
):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024
    case = case_factory("draft")
    with pytest.raises(
        UploadRejected, match=r"2.0\sKB; the limit for one evidence file is 1.0\sKB"
    ):
        add_evidence(
            case,
            monitor,
            upload=ContentFile(PDF_HEADER + bytes(2048 - len(PDF_HEADER))),
            original_filename="big.pdf",
            source=factories.SourceFactory(),
            kind="document",
            stance="supports",
            title="Big",
        )
    assert not EvidenceItem.objects.exists()
    assert stored_files_on_disk(evidence_root) == []


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("shipping-list.csv", b"container,port\nKN-001,Rajin\n", "text/csv"),
        ("notes.txt", "Заява Генштабу ЗСУ".encode(), "text/plain"),
        ("debris.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png"),
        ("report.pdf", PDF_HEADER + b"1 0 obj", "application/pdf"),
    ],
)
def test_accepted_types_are_detected_from_the_bytes(db, evidence_root, name, data, content_type):
    stored, _ = ingest(ContentFile(data), name)
    assert stored.content_type == content_type


def test_adding_evidence_writes_collected_and_uploaded_custody(
    case_factory, monitor, evidence_root
):
    case = case_factory("draft")
    item = add_evidence(
        case,
        monitor,
        upload=ContentFile(PDF_HEADER + b"UN report"),
        original_filename="S-2024-215.pdf",
        source=factories.SourceFactory(),
        kind="official_report",
        stance="supports",
        title="Panel of Experts final report",
    )
    events = list(item.custody.values_list("action", "actor__username", "sha256"))
    digest = hashlib.sha256(PDF_HEADER + b"UN report").hexdigest()
    assert events == [("collected", "monitor", digest), ("uploaded", "monitor", digest)]
    assert item.original_filename == "S-2024-215.pdf"


def test_only_the_creator_adds_evidence_while_the_case_is_editable(
    case_factory, monitor, other_monitor
):
    from django.core.exceptions import PermissionDenied

    draft, submitted = case_factory("draft"), case_factory("submitted")
    fields = dict(source=factories.SourceFactory(), kind="statement", stance="supports", title="T")
    with pytest.raises(PermissionDenied):
        add_evidence(draft, other_monitor, **fields)
    with pytest.raises(PermissionDenied):
        add_evidence(submitted, monitor, **fields)
    assert not EvidenceItem.objects.exclude(stance="context").exists()


@pytest.mark.parametrize("signed_in", [False, True])
def test_files_posted_anywhere_else_never_reach_the_store(
    client, case_factory, monitor, evidence_root, signed_in
):
    case = case_factory("draft")
    if signed_in:
        client.force_login(monitor)
    big = SimpleUploadedFile("x.pdf", PDF_HEADER + bytes(3 << 20))
    for url in (reverse("login"), reverse("tracker:case_edit", args=[case.pk])):
        client.post(url, {"username": "monitor", "password": "wrong", "upload": big})
        big.seek(0)
    assert not evidence_root.exists()
