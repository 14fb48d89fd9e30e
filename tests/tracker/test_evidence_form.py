import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from evidence.models import CustodyEvent, EvidenceItem, Source, StoredFile
from tests import factories


def form_data(source, **changes):
    data = {
        "title": "Briefing to lawmakers",
        "source": source.pk if source else "",
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
    assert "contains HTML or SVG markup" in str(response.context["form"].errors["upload"])
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


def proposal(name="Ukrainian intelligence", **fields):
    """The item's fields with a new source proposed instead of one chosen."""
    return {
        **form_data(source=None),
        "new_source_name": name,
        "new_source_kind": "intelligence",
        "new_source_country": "UA",
        "new_source_notes": "Briefings relayed by President Zelensky.",
        **fields,
    }


def test_a_monitor_proposes_a_new_source_with_the_item(client, case_factory, monitor):
    case = case_factory()
    client.force_login(monitor)
    url = reverse("tracker:evidence_add", args=[case.pk])
    assert "Or propose a new source" in client.get(url).content.decode()

    response = client.post(url, proposal(reliability="A"), follow=True)
    assert f"Evidence added to {case.reference}." in response.content.decode()
    source = EvidenceItem.objects.get().source
    assert (source.name, source.kind, source.country.code) == (
        "Ukrainian intelligence",
        "intelligence",
        "UA",
    )
    assert (source.reliability, source.graded_at, source.proposed_by) == ("F", None, monitor)
    page = response.content.decode()
    assert "Ukrainian intelligence (proposed, not yet graded by a reviewer)" in page
    assert "1 more supporting source: 1 not yet graded by a reviewer" in page


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("rok ministry of national defense", "is already a source: choose it from the list"),
        ("", "Choose the originating source, or propose a new one."),
    ],
)
def test_a_proposal_that_is_no_new_source_is_explained(
    client, case_factory, monitor, source, name, message
):
    case = case_factory()
    client.force_login(monitor)
    response = client.post(reverse("tracker:evidence_add", args=[case.pk]), proposal(name))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'value="Briefing to lawmakers"' in response.content.decode()
    assert not EvidenceItem.objects.exists()
    assert list(Source.objects.all()) == [source]


def test_choosing_and_proposing_a_source_at_once_is_refused(client, case_factory, monitor, source):
    case = case_factory()
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]), proposal(source=source.pk)
    )
    assert response.context["form"].errors["new_source_name"] == [
        "Choose a source from the list or propose a new one, not both."
    ]
    assert not EvidenceItem.objects.exists()
    assert Source.objects.count() == 1


def test_a_proposal_needs_the_kind_of_source(client, case_factory, monitor):
    case = case_factory()
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]), proposal(new_source_kind="")
    )
    assert response.context["form"].errors["new_source_kind"] == ["This field cannot be blank."]
    assert not Source.objects.exists()


def test_a_refused_file_leaves_no_proposed_source(client, case_factory, monitor):
    case = case_factory()
    client.force_login(monitor)
    upload = SimpleUploadedFile("page.pdf", b"<html><script>alert(1)</script></html>")
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]), {**proposal(), "upload": upload}
    )
    assert "contains HTML or SVG markup" in str(response.context["form"].errors["upload"])
    assert 'value="Ukrainian intelligence"' in response.content.decode()
    assert not Source.objects.exists()
    assert not EvidenceItem.objects.exists()


def files_under(root):
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    "filename",
    ["invoice\u202efdp.exe", "report\x00.pdf", "memo\x1b[0m.txt", "notes\x7f.txt", "a\u2066b.txt"],
)
def test_a_file_name_with_hidden_characters_is_refused_as_sent(
    client, case_factory, monitor, source, evidence_root, filename
):
    case = case_factory()
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]),
        **factories.multipart(form_data(source), "upload", filename, b"%PDF-1.7\nbriefing"),
    )
    assert response.status_code == 200
    assert "control or invisible characters" in str(response.context["form"].errors["upload"])
    assert not EvidenceItem.objects.exists()
    assert not StoredFile.objects.exists()
    assert files_under(evidence_root) == []


def test_a_file_name_with_a_path_is_refused_not_shortened(
    client, case_factory, monitor, source, evidence_root
):
    case = case_factory()
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]),
        **factories.multipart(form_data(source), "upload", "../../x.pdf", b"%PDF-1.7\nx"),
    )
    assert "contains a path" in str(response.context["form"].errors["upload"])
    assert not EvidenceItem.objects.exists()
    assert files_under(evidence_root) == []


def test_markup_deep_inside_a_pdf_is_refused_over_http(
    client, case_factory, monitor, source, evidence_root
):
    case = case_factory()
    client.force_login(monitor)
    polyglot = b"%PDF-1.7\n" + b"1 0 obj\n" * 200_000 + b"<html><script>alert(1)</script>"
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]),
        **factories.multipart(form_data(source), "upload", "report.pdf", polyglot),
    )
    assert '"<html" tag' in response.context["form"].errors["upload"][0]
    assert not StoredFile.objects.exists()
    assert files_under(evidence_root) == []


def test_nobody_signed_out_spools_a_file_into_the_store(client, case_factory, evidence_root):
    case = case_factory()
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]),
        {"upload": SimpleUploadedFile("x.pdf", b"%PDF-1.7\n" + bytes(3 << 20))},
    )
    assert response.status_code == 302
    assert not evidence_root.exists()


def test_the_csrf_token_is_still_checked_on_uploads(case_factory, monitor, source, evidence_root):
    case = case_factory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]),
        {**form_data(source), "upload": SimpleUploadedFile("a.txt", b"Officers were killed.")},
    )
    assert response.status_code == 403
    assert not EvidenceItem.objects.exists()
    assert files_under(evidence_root) == []


def test_a_proposed_source_counts_only_once_a_reviewer_grades_it(
    client, case_factory, monitor, reviewer
):
    from django.core.exceptions import PermissionDenied

    from evidence.corroboration import summarize

    case = case_factory()
    factories.corroborate(case, sources=1)
    client.force_login(monitor)
    client.post(
        reverse("tracker:evidence_add", args=[case.pk]),
        proposal("38 North", new_source_kind="research_group", new_source_country=""),
    )
    proposed = Source.objects.get(name="38 North")
    assert (proposed.reliability, proposed.graded_at, proposed.proposed_by) == ("F", None, monitor)
    before = summarize(case)
    assert (before.supporting_sources, before.not_yet_graded, before.meets_minimum) == (
        1,
        1,
        False,
    )

    with pytest.raises(PermissionDenied):
        proposed.grade("A", monitor)
    proposed.grade("B", reviewer)
    proposed.save()
    after = summarize(case)
    assert (after.supporting_sources, after.not_yet_graded, after.meets_minimum) == (2, 0, True)


def test_a_proposal_beaten_to_the_name_is_explained(case_factory, monitor, source):
    """Two monitors proposing one name at once: the second is told, not shown a 500."""
    from django.core.exceptions import ValidationError

    from evidence.custody import add_evidence

    late = Source(name=source.name, kind="government")
    with pytest.raises(ValidationError, match="was proposed as a source by someone else"):
        add_evidence(
            case_factory(), monitor, source=late, kind="statement", stance="supports", title="x"
        )
    assert not EvidenceItem.objects.exists()


def test_the_blank_form_lists_every_source_as_it_is_now(
    client, case_factory, monitor, reviewer, source, django_capture_on_commit_callbacks
):
    # The blank form's markup is kept in the cache: a source added, graded or renamed
    # since must show on the next form all the same.
    case = case_factory()
    add = reverse("tracker:evidence_add", args=[case.pk])
    client.force_login(monitor)
    assert "ROK Ministry of National Defense (B)" in client.get(add).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        factories.SourceFactory(name="38 North", reliability="F", graded_by=None, graded_at=None)
        source.grade("A", reviewer)
        source.save()
    html = client.get(add).content.decode()
    assert "38 North (not yet graded)" in html
    assert "ROK Ministry of National Defense (A)" in html

    with django_capture_on_commit_callbacks(execute=True):
        source.name = "ROK Joint Chiefs of Staff"
        source.save()
    html = client.get(add).content.decode()
    assert "ROK Joint Chiefs of Staff (A)" in html
    assert "ROK Ministry of National Defense" not in html


def test_a_second_blank_form_does_not_read_the_sources(
    client, case_factory, monitor, source, django_assert_max_num_queries
):
    add = reverse("tracker:evidence_add", args=[case_factory().pk])
    client.force_login(monitor)
    first = client.get(add).content.decode()
    # The user, their permissions, the case; not the sources.
    with django_assert_max_num_queries(3):
        second = client.get(add).content.decode()
    assert "ROK Ministry of National Defense" in second
    assert first.count("<option") == second.count("<option")


def test_a_form_shown_again_keeps_what_was_typed(client, case_factory, monitor, source):
    add = reverse("tracker:evidence_add", args=[case_factory().pk])
    client.force_login(monitor)
    client.get(add)
    again = client.post(add, form_data(source, title="", excerpt="Rail cars at Tumangang"))
    html = again.content.decode()
    assert "Rail cars at Tumangang" in html
    assert f'<option value="{source.pk}" selected>' in html
