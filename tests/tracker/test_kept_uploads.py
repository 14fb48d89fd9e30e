"""A file sent with an evidence form that had another error is kept for the next try:
the monitor does not choose it again, and nobody else can use it."""

import hashlib
import html
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from evidence.models import CustodyEvent, EvidenceItem, StagedUpload, StoredFile
from tests import factories

SCAN = b"%PDF-1.7\nScanned manifest of the Rajin shipment"
KEPT = "scan.pdf (kept from your last try) — choose another file to replace it."


def form_data(source, **changes):
    return {
        "title": "Rail manifest",
        "source": source.pk,
        "kind": "document",
        "stance": "supports",
        "credibility": 2,
        **changes,
    }


def kept_token(response):
    """The token of the file the page says it kept, as a browser would send it back."""
    found = re.search(r'name="kept_upload" value="([^"]+)"', response.content.decode())
    return found and found[1]


def page_text(response):
    return html.unescape(re.sub(r"<[^>]+>", "", response.content.decode()))


@pytest.fixture
def source(db):
    return factories.SourceFactory(name="Ukrainian General Staff")


@pytest.fixture
def add(client, case_factory, monitor):
    case = case_factory()
    client.force_login(monitor)
    url = reverse("tracker:evidence_add", args=[case.pk])

    def post(data, upload=None):
        if upload is not None:
            data = {**data, "upload": upload}
        return client.post(url, data)

    post.case = case
    return post


def test_a_file_sent_with_a_form_error_lands_as_the_item_file_on_the_retry(
    add, source, monitor, evidence_root
):
    first = add(form_data(source, title=""), SimpleUploadedFile("scan.pdf", SCAN))
    assert first.status_code == 200
    assert first.context["form"].errors["title"] == ["This field is required."]
    assert KEPT in page_text(first)
    assert "Your file is kept: you need not choose it again." in page_text(first)
    assert not EvidenceItem.objects.exists()
    token = kept_token(first)
    assert StagedUpload.objects.get(token=token).user == monitor

    retry = add(form_data(source, kept_upload=token))  # no file chosen this time
    assert retry.status_code == 302
    item = EvidenceItem.objects.get()
    assert item.file.sha256 == hashlib.sha256(SCAN).hexdigest()
    assert item.original_filename == "scan.pdf"
    assert (evidence_root / item.file.relative_path).read_bytes() == SCAN
    events = list(CustodyEvent.objects.filter(item=item))
    assert [(e.action, e.actor, e.sha256) for e in events] == [
        ("collected", monitor, item.file.sha256),
        ("uploaded", monitor, item.file.sha256),
    ]
    assert events[1].note.startswith(f"scan.pdf: {len(SCAN)} bytes, application/pdf; sent ")
    assert events[1].note.endswith("and kept for the next try")
    # Used once: the token is spent.
    assert not StagedUpload.objects.exists()


def test_a_kept_file_is_used_once(add, source):
    token = kept_token(add(form_data(source, title=""), SimpleUploadedFile("scan.pdf", SCAN)))
    add(form_data(source, kept_upload=token))
    again = add(form_data(source, title="The same, once more", kept_upload=token))
    assert again.status_code == 200
    assert "The file kept from your last try is no longer available" in page_text(again)
    assert EvidenceItem.objects.count() == 1


def test_choosing_another_file_replaces_the_kept_one(add, source):
    first = add(form_data(source, title=""), SimpleUploadedFile("scan.pdf", SCAN))
    second = add(
        form_data(source, title="", kept_upload=kept_token(first)),
        SimpleUploadedFile("photo.txt", b"Photograph caption, second version"),
    )
    assert "photo.txt (kept from your last try)" in page_text(second)
    assert "scan.pdf" not in page_text(second)
    add(form_data(source, kept_upload=kept_token(second)))
    item = EvidenceItem.objects.get()
    assert item.original_filename == "photo.txt"
    # The first file is no longer kept: the hourly clean-up removes it.
    assert not StagedUpload.objects.live().exists()


def test_without_a_new_file_the_kept_one_stays_through_further_errors(add, source):
    first = add(form_data(source, title=""), SimpleUploadedFile("scan.pdf", SCAN))
    second = add(form_data(source, title="", kept_upload=kept_token(first)))
    assert kept_token(second) == kept_token(first)
    assert KEPT in page_text(second)


def test_a_refused_file_is_not_kept(add, source, evidence_root):
    response = add(
        form_data(source, title=""), SimpleUploadedFile("page.pdf", b"<html><body>x</body>")
    )
    assert "contains HTML or SVG markup" in str(response.context["form"].errors["upload"])
    assert kept_token(response) is None
    assert not StagedUpload.objects.exists()
    assert not StoredFile.objects.exists()


def test_the_kept_file_name_is_shown_as_text(add, source):
    response = add(
        form_data(source, title=""),
        SimpleUploadedFile("<img src=x>scan.txt", b"A statement of the General Staff"),
    )
    assert "&lt;img src=x&gt;scan.txt</strong> (kept from your last try)" in (
        response.content.decode()
    )


def test_another_users_kept_file_cannot_be_used(
    client, add, source, case_factory, other_monitor, monitor
):
    """Posting someone else's token does nothing: no item, no file, their file still
    kept for them."""
    token = kept_token(add(form_data(source, title=""), SimpleUploadedFile("scan.pdf", SCAN)))
    theirs = case_factory(created_by=other_monitor)
    client.force_login(other_monitor)
    response = client.post(
        reverse("tracker:evidence_add", args=[theirs.pk]), form_data(source, kept_upload=token)
    )
    assert response.status_code == 200
    assert "The file kept from your last try is no longer available" in page_text(response)
    assert kept_token(response) is None
    assert "scan.pdf" not in page_text(response)
    assert not EvidenceItem.objects.exists()
    assert StagedUpload.objects.live().get(token=token).user == monitor


def test_an_expired_kept_file_must_be_chosen_again(add, source, settings):
    token = kept_token(add(form_data(source, title=""), SimpleUploadedFile("scan.pdf", SCAN)))
    StagedUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = add(form_data(source, kept_upload=token))
    assert response.context["form"].errors["upload"] == [
        "The file kept from your last try is no longer available (files are kept "
        f"{settings.EVIDENCE_STAGING_HOURS} hours); choose it again."
    ]
    assert not EvidenceItem.objects.exists()


def test_files_are_kept_for_the_configured_hours(add, source, settings):
    settings.EVIDENCE_STAGING_HOURS = 3
    before = timezone.now()
    add(form_data(source, title=""), SimpleUploadedFile("scan.pdf", SCAN))
    kept = StagedUpload.objects.get()
    assert before + timedelta(hours=3) <= kept.expires_at <= timezone.now() + timedelta(hours=3)


def test_a_file_kept_on_the_edit_form_is_attached_on_the_retry(
    client, case_factory, monitor, source
):
    case = case_factory()
    item = factories.EvidenceItemFactory(case=case, source=source, title="Statement")
    client.force_login(monitor)
    url = reverse("tracker:evidence_edit", args=[case.pk, item.pk])
    first = client.post(
        url, {**form_data(source, title=""), "upload": SimpleUploadedFile("scan.pdf", SCAN)}
    )
    assert KEPT in page_text(first)
    client.post(url, form_data(source, kept_upload=kept_token(first)))
    item.refresh_from_db()
    assert (item.title, item.original_filename) == ("Rail manifest", "scan.pdf")
    assert [e.action for e in item.custody.all()] == ["edited", "uploaded"]
