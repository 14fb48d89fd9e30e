"""The admin's History pages (django-simple-history, through
common.admin.HistoryAdmin): shown only to those who may see the object, and
never a way to change it."""

import re

import pytest
from django.urls import reverse

from tests import factories
from tests.factories import text_of
from tracker import workflow
from tracker.models import SanctionsProvision, WeaponSystem


def history_url(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])


def version_url(obj, record):
    opts = obj._meta
    return reverse(
        f"admin:{opts.app_label}_{opts.model_name}_simple_history",
        args=[obj.pk, record.history_id],
    )


def test_another_monitors_draft_has_no_history_pages(client, case_factory, other_monitor):
    draft = case_factory("draft", title="Unpublished lead: rail cars at Tumangang")
    record = draft.history.get()
    client.force_login(other_monitor)

    for response in [
        client.get(history_url(draft)),
        client.get(version_url(draft, record)),
        client.post(
            version_url(draft, record), factories.case_form(draft, title="Rewritten by monitor2")
        ),
    ]:
        assert response.status_code == 404
        assert b"Tumangang" not in response.content
    draft.refresh_from_db()
    assert draft.title == "Unpublished lead: rail cars at Tumangang"
    assert draft.history.count() == 1


def test_an_evidence_items_history_is_hidden_with_its_draft_case(
    client, case_factory, other_monitor
):
    item = factories.EvidenceItemFactory(case=case_factory("draft"), title="Informant's photo")
    client.force_login(other_monitor)
    assert client.get(history_url(item)).status_code == 404
    assert client.get(version_url(item, item.history.get())).status_code == 404


@pytest.mark.parametrize("user", ["monitor", "reviewer", "admin_user"])
def test_no_one_rewrites_an_approved_case_through_its_history(client, case_factory, request, user):
    case = case_factory("approved", title="Hwasong-11 debris in Kharkiv")
    records = case.history.count()
    client.force_login(request.getfixturevalue(user))

    response = client.post(
        version_url(case, case.history.earliest()),
        factories.case_form(case, title="Fabricated: no DPRK missiles found"),
    )

    assert response.status_code == 405
    case.refresh_from_db()
    assert case.title == "Hwasong-11 debris in Kharkiv"
    assert case.history.count() == records


@pytest.mark.parametrize(
    "make, changes",
    [
        (
            lambda: factories.SourceFactory(name="Ukrainian military intelligence"),
            {"name": "Ukrainian military intelligence", "kind": "intelligence", "reliability": "F"},
        ),
        (
            lambda: WeaponSystem.objects.create(name="Hwasong-11", category="ballistic missile"),
            {"name": "Hwasong-11", "category": "rifle"},
        ),
        (
            lambda: SanctionsProvision.objects.create(resolution="1718 (2006)", summary="Arms"),
            {"resolution": "1718 (2006)", "summary": "Nothing prohibited"},
        ),
    ],
    ids=["source", "weapon system", "sanctions provision"],
)
@pytest.mark.parametrize("user", ["monitor", "reviewer"])
def test_reference_data_cannot_be_changed_through_its_history(
    db, client, request, user, make, changes
):
    obj = make()
    before = {field: getattr(obj, field) for field in changes}
    client.force_login(request.getfixturevalue(user))

    response = client.post(version_url(obj, obj.history.get()), changes)

    assert response.status_code == 405
    obj.refresh_from_db()
    assert {field: getattr(obj, field) for field in changes} == before
    assert obj.history.count() == 1


def test_the_history_shows_who_changed_what_to_those_who_see_the_case(
    client, case_factory, monitor, reviewer
):
    case = case_factory("submitted", title="Shells at Tikhoretsk")
    case.title = "Shells by rail to Tikhoretsk"
    case._history_user = monitor
    case.save()
    client.force_login(reviewer)

    listing = client.get(history_url(case))
    assert listing.status_code == 200
    assert b"Shells by rail to Tikhoretsk" in listing.content
    assert b">monitor<" in listing.content

    version = client.get(version_url(case, case.history.earliest()))
    assert version.status_code == 200
    page = version.content.decode()
    assert "Shells at Tikhoretsk" in page
    assert 'name="title"' not in page
    assert "Revert" not in page


def test_only_administrators_read_the_history_of_a_deleted_object(client, monitor, admin_user):
    missile = WeaponSystem.objects.create(name="KN-25 rocket launcher")
    pk = missile.pk
    missile.delete()
    url = reverse("admin:tracker_weaponsystem_history", args=[pk])

    client.force_login(monitor)
    assert client.get(url).status_code == 404
    client.force_login(admin_user)
    assert b"KN-25 rocket launcher" in client.get(url).content


@pytest.mark.parametrize(
    "key, version",
    [(":", None), ("1", "ñr"), ("1", str(2**63)), (str(2**63), None)],
)
def test_a_history_address_holding_no_key_is_404(client, admin_user, case_factory, key, version):
    """django-simple-history looks the case and the version up by whatever the address
    holds; one that is not a key of theirs finds nothing, even for an administrator
    (who may read the history of a deleted case, so is not stopped earlier)."""
    case_factory("approved")
    client.force_login(admin_user)
    if version is None:
        url = f"/admin/tracker/case/{key}/history/"
    else:
        url = f"/admin/tracker/case/{key}/history/{version}/"
    assert client.get(url).status_code == 404


def history_rows(response):
    """Each version's cells as the reader sees them, newest first."""
    table = response.content.decode().split('id="change-history"')[1].split("</table>")[0]
    rows = table.split("<tr>")[2:]
    return [[text_of(cell) for cell in re.split(r"<td[^>]*>", row)[1:]] for row in rows]


def test_a_cases_history_reads_as_a_record_of_its_review(
    client, case_factory, monitor, reviewer, other_reviewer
):
    case = case_factory("submitted", title="Shells at Tikhoretsk")
    workflow.start_review(case, reviewer, "Taking it.")
    case.title, case._history_user = "Shells by rail to Tikhoretsk", monitor
    case.save()
    workflow.approve(case, reviewer, "Consistent.", justification="Seen by UN monitors.")
    client.force_login(other_reviewer)

    response = client.get(history_url(case))

    changes = [(row[3], row[4]) for row in history_rows(response)]
    assert changes == [
        (
            "reviewer",
            "Review: In review → Approved by reviewer, comment: “Consistent.”, justification "
            "for approving below the corroboration minimum: “Seen by UN monitors.”",
        ),
        ("monitor", "Title: Shells at Tikhoretsk → Shells by rail to Tikhoretsk"),
        (
            "reviewer",
            "Review: Submitted → In review by reviewer, comment: “Taking it.” "
            "Assigned reviewer: nobody → reviewer",
        ),
        ("monitor", "Review: Draft → Submitted by monitor"),
        ("not recorded", ""),  # made by the test's factory, outside any request
    ]
    page = response.content.decode()
    for wrong in ("Deleted user", "pk=None", "None", "Change reason"):
        assert wrong not in page


def test_a_change_reason_shows_only_where_there_is_one(client, case_factory, reviewer):
    case = case_factory("submitted")
    case.title = "Merged with a duplicate"
    case._change_reason = "Duplicate of an earlier case"
    case.save()
    client.force_login(reviewer)

    response = client.get(history_url(case))

    assert "Change reason" in response.content.decode()
    assert [row[4] for row in history_rows(response)] == ["Duplicate of an earlier case", "", ""]


@pytest.mark.parametrize(("user", "linked"), [("reviewer", False), ("admin_user", True)])
def test_authors_link_to_the_user_admin_only_for_who_may_open_it(
    client, case_factory, request, user, linked, monitor
):
    case = case_factory("submitted")
    client.force_login(request.getfixturevalue(user))
    page = client.get(history_url(case)).content.decode()
    user_page = reverse("admin:auth_user_change", args=[monitor.pk])
    assert (f'<a href="{user_page}">monitor</a>' in page) is linked
    assert ">monitor<" in page


def test_a_grade_reads_as_its_label_in_the_sources_history(client, reviewer):
    source = factories.SourceFactory(name="Ukrainian General Staff", proposed=True)
    source.grade("B", reviewer)
    source._history_user = reviewer
    source.save()
    client.force_login(reviewer)

    rows = history_rows(client.get(history_url(source)))

    assert rows[0][4] == "Reliability: F – reliability cannot be judged → B – usually reliable"


def test_a_cases_history_page_reads_in_a_constant_number_of_queries(
    client, case_factory, reviewer, other_reviewer, monitor, django_assert_max_num_queries
):
    case = case_factory("submitted")
    client.force_login(other_reviewer)
    with django_assert_max_num_queries(12) as few:
        client.get(history_url(case))
    for _ in range(5):
        workflow.start_review(case, reviewer)
        workflow.request_changes(case, reviewer, "Add a source.")
        workflow.submit(case, monitor)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(history_url(case))
    assert len(history_rows(response)) == 17
