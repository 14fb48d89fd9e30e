"""A case's monitor edits its evidence while the case is editable, on record; its file
is never replaced; nobody else edits it, and nobody once the case is submitted."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.custody import add_evidence, edit_evidence
from evidence.models import CustodyEvent, EvidenceItem, StoredFile
from tests import factories
from tracker import workflow


def item_form(item, **changes):
    """What the edit form posts: the item's fields as they are, with ``changes``."""
    return {
        "title": item.title,
        "source": item.source_id,
        "reporting_outlet": item.reporting_outlet_id or "",
        "kind": item.kind,
        "stance": item.stance,
        "credibility": item.credibility,
        "excerpt": item.excerpt,
        "url": item.url,
        "published_on": item.published_on.isoformat() if item.published_on else "",
        "obtained_on": item.obtained_on.isoformat() if item.obtained_on else "",
        **changes,
    }


def edit_url(item, case=None):
    return reverse("tracker:evidence_edit", args=[(case or item.case).pk, item.pk])


@pytest.fixture
def item(case_factory, monitor):
    case = case_factory()
    return add_evidence(
        case,
        monitor,
        upload=SimpleUploadedFile("statement.txt", b"The containers left Rajin by rail."),
        source=factories.SourceFactory(name="ROK Ministry of National Defense"),
        kind="statement",
        stance="supports",
        credibility=3,
        title="Briefing to lawmakers",
        excerpt="About 6,700 containers.",
    )


def test_the_monitor_edits_an_item_and_each_change_is_on_record(client, item, monitor):
    other_source = factories.SourceFactory(name="Ukrainian General Staff")
    client.force_login(monitor)
    assert client.get(item.case.get_absolute_url()).content.decode().count(edit_url(item)) == 1
    form = client.get(edit_url(item))
    assert 'value="Briefing to lawmakers"' in form.content.decode()

    response = client.post(
        edit_url(item),
        item_form(
            item,
            title="Briefing to the National Assembly",
            stance="refutes",
            source=other_source.pk,
            credibility=2,
            excerpt="About 7,000 containers.",
        ),
        follow=True,
    )
    assert "“Briefing to the National Assembly” saved." in response.content.decode()
    item.refresh_from_db()
    assert (item.title, item.stance, item.source, item.credibility, item.excerpt) == (
        "Briefing to the National Assembly",
        "refutes",
        other_source,
        2,
        "About 7,000 containers.",
    )

    version = item.history.latest("history_id")
    assert (version.history_type, version.history_user) == ("~", monitor)
    assert version.history_change_reason == "Edited title, source, stance, credibility, excerpt"
    assert version.prev_record.title == "Briefing to lawmakers"

    edited = item.custody.get(action="edited")
    assert (edited.actor, edited.sha256) == (monitor, item.file.sha256)
    assert edited.note == (
        "title: “Briefing to lawmakers” → “Briefing to the National Assembly”; "
        "originating source: “ROK Ministry of National Defense” → “Ukrainian General Staff”; "
        "stance: “Supports” → “Refutes”; "
        "information credibility: “3 – possibly true” → “2 – probably true”; "
        "excerpt changed"
    )


def test_an_edit_from_a_page_opened_before_another_change_does_not_undo_it(client, item, monitor):
    client.force_login(monitor)
    page = client.get(edit_url(item)).content.decode()
    opened_as = re.search(r'name="opened_as" value="([0-9a-f]+)"', page).group(1)
    stale = {**item_form(item), "opened_as": opened_as}
    edit_evidence(item, monitor, stance="refutes")  # saved meanwhile, elsewhere

    refused = client.post(edit_url(item), {**stale, "title": "Briefing to the National Assembly"})
    assert "was changed by someone else after you opened this page" in refused.content.decode()
    item.refresh_from_db()
    assert (item.stance, item.title) == ("refutes", "Briefing to lawmakers")


def test_saving_without_a_change_writes_nothing(client, item, monitor):
    client.force_login(monitor)
    versions, events = item.history.count(), item.custody.count()
    response = client.post(edit_url(item), item_form(item), follow=True)
    assert "Nothing changed in “Briefing to lawmakers”." in response.content.decode()
    assert (item.history.count(), item.custody.count()) == (versions, events)


def test_the_file_of_an_item_is_never_replaced(client, item, monitor):
    client.force_login(monitor)
    page = client.get(edit_url(item)).content.decode()
    assert 'type="file"' not in page
    assert "An item's file is never replaced: to cite another file, add it as a new item." in page
    assert "statement.txt" in page

    stored = item.file
    client.post(
        edit_url(item),
        {**item_form(item), "upload": SimpleUploadedFile("other.txt", b"Another file")},
    )
    item.refresh_from_db()
    assert (item.file, item.original_filename) == (stored, "statement.txt")
    assert list(StoredFile.objects.all()) == [stored]
    assert not item.custody.filter(action__in=["edited"]).exists()


def test_the_domain_refuses_to_replace_a_file_too(item, monitor):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="files are never replaced"):
        edit_evidence(item, monitor, upload=SimpleUploadedFile("other.txt", b"Another file"))
    item.refresh_from_db()
    assert item.original_filename == "statement.txt"


def test_a_file_is_attached_to_an_item_that_had_none(client, case_factory, monitor):
    case = case_factory()
    item = factories.EvidenceItemFactory(case=case, title="Statement")
    client.force_login(monitor)
    client.post(
        edit_url(item),
        {**item_form(item), "upload": SimpleUploadedFile("statement.txt", b"The text of it.")},
    )
    item.refresh_from_db()
    assert item.original_filename == "statement.txt"
    uploaded = item.custody.get()
    assert (uploaded.action, uploaded.actor, uploaded.sha256) == (
        "uploaded",
        monitor,
        item.file.sha256,
    )


def test_a_new_source_is_proposed_from_the_edit_form(client, item, monitor):
    client.force_login(monitor)
    client.post(
        edit_url(item),
        item_form(item, source="", new_source_name="38 North", new_source_kind="research_group"),
    )
    item.refresh_from_db()
    assert item.source.name == "38 North"
    assert (item.source.reliability, item.source.graded_at, item.source.proposed_by) == (
        "F",
        None,
        monitor,
    )
    assert (
        "“ROK Ministry of National Defense” → “38 North”" in item.custody.get(action="edited").note
    )


@pytest.mark.parametrize("state", ["submitted", "in_review", "approved", "rejected", "withdrawn"])
def test_the_monitor_cannot_edit_once_the_case_is_submitted(client, case_factory, monitor, state):
    case = case_factory(state)
    item = case.evidence.first()
    client.force_login(monitor)
    assert client.get(edit_url(item)).status_code == 403
    response = client.post(edit_url(item), item_form(item, title="Changed after submitting"))
    assert response.status_code == 403
    assert "Evidence cannot be added to" in response.content.decode()
    item.refresh_from_db()
    assert item.title != "Changed after submitting"
    assert not item.custody.filter(action="edited").exists()


def test_a_form_loaded_before_submitting_saves_nothing_after(client, item, monitor):
    client.force_login(monitor)
    assert client.get(edit_url(item)).status_code == 200
    workflow.submit(item.case, monitor)
    response = client.post(edit_url(item), item_form(item, title="Changed after submitting"))
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.title == "Briefing to lawmakers"


def test_the_domain_checks_the_state_under_the_case_lock(item, monitor):
    """A case object read before the case was submitted does not let an edit through."""
    stale = EvidenceItem.objects.select_related("case").get(pk=item.pk)
    workflow.submit(item.case, monitor)
    with pytest.raises(PermissionDenied):
        edit_evidence(stale, monitor, title="Changed after submitting")
    item.refresh_from_db()
    assert item.title == "Briefing to lawmakers"


def test_sent_back_for_changes_it_is_editable_again(client, case_factory, monitor):
    case = case_factory("changes_requested")
    item = case.evidence.get()
    client.force_login(monitor)
    client.post(edit_url(item), item_form(item, stance="supports"))
    item.refresh_from_db()
    assert item.stance == "supports"
    assert item.custody.get(action="edited").note == "stance: “Context” → “Supports”"


@pytest.mark.parametrize(
    ("role", "state", "status"),
    [
        ("other_monitor", "draft", 404),
        ("other_monitor", "submitted", 403),
        ("other_monitor", "changes_requested", 403),
        ("reviewer", "submitted", 403),
        ("reviewer", "in_review", 403),
        ("stakeholder", "approved", 403),
        ("stakeholder", "draft", 404),
    ],
)
def test_nobody_else_edits_the_evidence(client, case_factory, request, role, state, status):
    case = case_factory(state)
    item = case.evidence.first() or factories.EvidenceItemFactory(case=case)
    client.force_login(request.getfixturevalue(role))
    assert client.get(edit_url(item)).status_code == status
    response = client.post(edit_url(item), item_form(item, title="Tampered title"))
    assert response.status_code == status
    item.refresh_from_db()
    assert item.title != "Tampered title"
    assert not CustodyEvent.objects.filter(action="edited").exists()


def test_an_item_is_edited_only_under_its_own_case(client, case_factory, item, monitor):
    other_case = case_factory()
    client.force_login(monitor)
    url = edit_url(item, case=other_case)
    assert client.get(url).status_code == 404
    assert client.post(url, item_form(item, title="Moved")).status_code == 404
    item.refresh_from_db()
    assert (item.case, item.title) != (other_case, "Moved")
