"""The admin's History pages (django-simple-history, through
common.admin.HistoryAdmin): shown only to those who may see the object, and
never a way to change it."""

import pytest
from django.urls import reverse

from tests import factories
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
