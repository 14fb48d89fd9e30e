import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.models import CustodyEvent, EvidenceItem, StoredFile
from tests import factories


def form_data(source, **changes):
    data = {
        "title": "Briefing to lawmakers",
        "source": source.pk,
        "kind": "statement",
        "stance": "supports",
        "credibility": 2,
        "published_on": "2024-10-08",
    }
    data.update(changes)
    return data


@pytest.fixture
def source(db):
    return factories.SourceFactory(name="ROK Ministry of National Defense")


def test_the_creator_attaches_a_file_as_evidence(client, case_factory, monitor, source):
    case = case_factory()
    client.force_login(monitor)
    upload = SimpleUploadedFile("briefing.txt", b"Officers were highly likely killed.")
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]),
        {**form_data(source), "upload": upload},
        follow=True,
    )
    assert f"Evidence added to {case.reference}." in response.content.decode()
    item = EvidenceItem.objects.get()
    assert (item.case, item.source, item.added_by) == (case, source, monitor)
    assert item.original_filename == "briefing.txt"
    assert [e.action for e in CustodyEvent.objects.filter(item=item)] == [
        "collected",
        "uploaded",
    ]
    assert reverse("evidence:download", args=[item.pk]) in response.content.decode()


def test_a_rejected_file_is_explained_on_the_field(client, case_factory, monitor, source):
    case = case_factory()
    client.force_login(monitor)
    upload = SimpleUploadedFile("page.pdf", b"<html><script>alert(1)</script></html>")
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]), {**form_data(source), "upload": upload}
    )
    assert response.status_code == 200
    assert "contains HTML or script markup" in str(response.context["form"].errors["upload"])
    assert 'value="Briefing to lawmakers"' in response.content.decode()
    assert not EvidenceItem.objects.exists()
    assert not StoredFile.objects.exists()


def test_missing_fields_are_explained(client, case_factory, monitor, source):
    case = case_factory()
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]), form_data(source, title="")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["title"] == ["This field is required."]


@pytest.mark.parametrize(
    ("role", "state", "status"),
    [
        ("monitor", "submitted", 403),
        ("other_monitor", "submitted", 403),
        ("other_monitor", "draft", 404),
        ("reviewer", "submitted", 403),
        ("stakeholder", "approved", 403),
    ],
)
def test_nobody_else_adds_evidence(client, case_factory, request, source, role, state, status):
    case = case_factory(state)
    client.force_login(request.getfixturevalue(role))
    url = reverse("tracker:evidence_add", args=[case.pk])
    before = EvidenceItem.objects.count()
    assert client.get(url).status_code == status
    assert client.post(url, form_data(source)).status_code == status
    assert EvidenceItem.objects.count() == before
