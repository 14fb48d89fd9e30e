"""Evidence ingest under faults: a disk that fills, an upload cut off half-way, and
the same bytes uploaded twice at once. Each ends with a clear answer and nothing half
kept: no partial file under EVIDENCE_ROOT, no row."""

import subprocess

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from evidence.custody import add_evidence
from evidence.models import EvidenceItem, StoredFile
from tests import factories
from tests.concurrency import at_once

FORM = {"title": "Rail manifest", "kind": "document", "stance": "supports", "credibility": "2"}


def files_under(root):
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.fixture
def small_disk(tmp_path, settings):
    """EVIDENCE_ROOT on a file system of 256 KiB (tmpfs, mounted as root)."""
    root = tmp_path / "small-disk"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(root)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    settings.EVIDENCE_ROOT = root
    yield root
    subprocess.run(["umount", str(root)], check=True)


def test_a_full_disk_refuses_the_upload_clearly_and_keeps_nothing(
    client, case_factory, monitor, small_disk
):
    case = case_factory()
    client.force_login(monitor)
    fields = {**FORM, "source": factories.SourceFactory().pk}
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]),
        **factories.multipart(fields, "upload", "scan.txt", b"manifest line\n" * 80_000),
    )
    assert response.status_code == 200
    error = response.context["form"].errors["upload"][0]
    assert "scan.txt could not be stored: No space left on device" in error
    assert not EvidenceItem.objects.exists() and not StoredFile.objects.exists()
    assert files_under(small_disk) == []


def test_an_upload_cut_off_half_way_is_refused_and_keeps_nothing(
    client, case_factory, monitor, evidence_root
):
    case = case_factory()
    client.force_login(monitor)
    fields = {**FORM, "source": factories.SourceFactory().pk}
    whole = factories.multipart(fields, "upload", "scan.txt", b"manifest line\n" * 50_000)
    # The connection drops in the middle of the file: no closing boundary ever comes.
    cut = {**whole, "data": whole["data"][: len(whole["data"]) // 2]}
    response = client.post(reverse("tracker:evidence_add", args=[case.pk]), **cut)
    assert response.status_code == 400
    assert not EvidenceItem.objects.exists() and not StoredFile.objects.exists()
    assert files_under(evidence_root) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_bytes_uploaded_twice_at_once_are_one_file_and_two_items(
    case_factory, monitor, evidence_root
):
    case = case_factory()
    source = factories.SourceFactory()

    def upload(title):
        return lambda: add_evidence(
            case,
            monitor,
            upload=ContentFile(b"%PDF-1.7\nthe same leaked manifest"),
            original_filename=f"{title}.pdf",
            source=source,
            kind="document",
            stance="supports",
            title=title,
        )

    outcomes = at_once(upload("first"), upload("second"))

    assert [outcome.get("error") for outcome in outcomes] == [None, None]
    assert EvidenceItem.objects.filter(case=case).count() == 2
    assert StoredFile.objects.count() == 1
    stored = StoredFile.objects.get()
    assert [p.name for p in files_under(evidence_root)] == [stored.sha256]
