import re

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories
from tracker.filters import CaseFilter
from tracker.forms import CaseForm
from tracker.models import Case, SanctionsProvision, WeaponSystem

NEW = reverse("tracker:case_create")


def case_data(**changes):
    data = {
        "title": "DPRK officers killed near Donetsk",
        "summary": "Officers highly likely killed in a Ukrainian attack.",
        "incident_type": "personnel_deployment",
        "incident_start": "2024-10-03",
        "date_precision": "day",
        "place_name": "near Donetsk",
        "country": "UA",
        "supplier_country": "KP",
        "recipient_country": "RU",
    }
    data.update(changes)
    return data


def test_a_monitor_logs_a_case_as_a_draft(client, monitor):
    missile = WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")
    client.force_login(monitor)
    response = client.post(NEW, case_data(weapon_systems=[missile.pk]), follow=True)
    case = Case.objects.get()
    assert response.redirect_chain[-1][0] == reverse("tracker:case", args=[case.pk])
    assert f"{case.reference} saved as a draft." in response.content.decode()
    assert (case.state, case.created_by) == ("draft", monitor)
    assert list(case.weapon_systems.all()) == [missile]


def test_errors_are_shown_and_what_was_typed_is_kept(client, monitor):
    client.force_login(monitor)
    response = client.post(NEW, case_data(title="", incident_end="2024-10-01"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required." in html
    assert "The end of the date range cannot be before its start." in html
    assert 'value="near Donetsk"' in html
    assert "Officers highly likely killed in a Ukrainian attack." in html
    assert not Case.objects.exists()


def test_every_field_has_a_label(client, monitor):
    client.force_login(monitor)
    response = client.get(NEW)
    form = response.context["form"]
    html = response.content.decode()
    for field in form:
        if field.widget_type == "checkboxselectmultiple":
            assert f"<legend>{field.label}" in html
        else:
            assert f'<label for="{field.id_for_label}"' in html


@pytest.mark.parametrize("role", ["reviewer", "stakeholder"])
def test_only_monitors_log_cases(client, db, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, case_data()).status_code == 403
    assert not Case.objects.exists()


def test_the_creator_edits_a_draft(client, case_factory, monitor):
    case = case_factory()
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:case_edit", args=[case.pk]), case_data(title="Corrected title")
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.title == "Corrected title"


def opened_as(page):
    """The digest of the row an edit page was opened on, as its form carries it."""
    return re.search(r'name="opened_as" value="([0-9a-f]+)"', page.content.decode()).group(1)


def test_an_edit_from_a_page_opened_before_another_change_does_not_undo_it(
    client, case_factory, monitor
):
    case = case_factory(summary="Containers left Rajin.")
    client.force_login(monitor)
    edit = reverse("tracker:case_edit", args=[case.pk])
    stale = {**factories.case_form(case), "opened_as": opened_as(client.get(edit))}
    # Meanwhile, from another tab (or a script through the API):
    other_tab = Client()
    other_tab.force_login(monitor)
    fresh = {**factories.case_form(case), "opened_as": opened_as(other_tab.get(edit))}
    other_tab.post(edit, {**fresh, "summary": "Containers left Rajin on 7 September."})

    refused = client.post(edit, {**stale, "reported_quantity": "12 containers"})
    assert refused.status_code == 200
    assert "was changed by someone else after you opened this page" in refused.content.decode()
    assert "12 containers" in refused.content.decode()  # what was typed is kept
    case.refresh_from_db()
    assert (case.summary, case.reported_quantity) == ("Containers left Rajin on 7 September.", "")

    # Having looked, the monitor saves again from the page shown: their version stands.
    again = {**stale, "reported_quantity": "12 containers", "opened_as": opened_as(refused)}
    assert client.post(edit, again).status_code == 302
    case.refresh_from_db()
    assert (case.summary, case.reported_quantity) == ("Containers left Rajin.", "12 containers")


def test_the_creator_edits_a_case_sent_back_for_changes(client, case_factory, monitor):
    case = case_factory("changes_requested")
    client.force_login(monitor)
    client.post(reverse("tracker:case_edit", args=[case.pk]), case_data(title="With sources"))
    case.refresh_from_db()
    assert (case.title, case.state) == ("With sources", "changes_requested")


@pytest.mark.parametrize(
    ("role", "state", "status"),
    [
        ("monitor", "submitted", 403),
        ("monitor", "approved", 403),
        ("other_monitor", "submitted", 403),
        ("other_monitor", "draft", 404),
        ("reviewer", "submitted", 403),
        ("stakeholder", "approved", 403),
        ("stakeholder", "draft", 404),
    ],
)
def test_nobody_else_edits(client, case_factory, request, role, state, status):
    case = case_factory(state, title="Original")
    client.force_login(request.getfixturevalue(role))
    url = reverse("tracker:case_edit", args=[case.pk])
    assert client.get(url).status_code == status
    assert client.post(url, case_data(title="Overwritten")).status_code == status
    case.refresh_from_db()
    assert case.title == "Original"


def test_pages_refuse_posts_without_csrf_token(case_factory, monitor):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    case = case_factory()
    client.force_login(monitor)
    response = client.post(reverse("tracker:case_transition", args=[case.pk, "submit"]))
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.state == "draft"


def test_a_weapon_system_or_provision_shows_on_the_form_at_once(
    client, monitor, django_capture_on_commit_callbacks
):
    missile = WeaponSystem.objects.create(name="Hwasong-11 ballistic missile")
    client.force_login(monitor)
    assert "Hwasong-11 ballistic missile" in client.get(NEW).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        WeaponSystem.objects.create(name="KN-25 multiple rocket launcher")
        SanctionsProvision.objects.create(resolution="2270 (2016)", summary="Arms embargo.")
    html = client.get(NEW).content.decode()
    assert "KN-25 multiple rocket launcher" in html
    assert "UNSCR 2270 (2016)" in html

    with django_capture_on_commit_callbacks(execute=True):
        missile.name = "Hwasong-11A (KN-23) ballistic missile"
        missile.save()
    html = client.get(NEW).content.decode()
    assert "Hwasong-11A (KN-23) ballistic missile" in html
    assert "Hwasong-11 ballistic missile" not in html

    with django_capture_on_commit_callbacks(execute=True):
        missile.delete()
    assert "Hwasong-11A" not in client.get(NEW).content.decode()


def test_a_second_blank_form_is_not_read_from_the_database(
    client, monitor, django_assert_max_num_queries
):
    WeaponSystem.objects.create(name="Hwasong-11 ballistic missile")
    client.force_login(monitor)
    client.get(NEW)
    # The user and their permissions; no weapon systems, no provisions.
    with django_assert_max_num_queries(2):
        html = client.get(NEW).content.decode()
    assert "Hwasong-11 ballistic missile" in html


def test_a_form_shown_again_or_to_edit_is_not_the_blank_one(client, case_factory, monitor):
    client.force_login(monitor)
    client.get(NEW)

    again = client.post(NEW, case_data(title="", place_name="Rason port")).content.decode()
    assert 'value="Rason port"' in again

    case = case_factory(place_name="Tumangang rail bridge")
    edit = client.get(reverse("tracker:case_edit", args=[case.pk])).content.decode()
    assert 'value="Tumangang rail bridge"' in edit


class DjangosCaseForm(CaseForm):
    """The case form with Django's own widgets for the countries, none kept."""

    class Meta(CaseForm.Meta):
        widgets = {}


@pytest.mark.parametrize(
    "data",
    [
        case_data(),
        case_data(country="", supplier_country="RU", recipient_country="KP"),
        # Refused values: shown as typed, marked invalid, never kept.
        case_data(country="XX", supplier_country="", title=""),
    ],
)
def test_a_form_shown_again_chooses_the_countries_as_djangos_own(db, data):
    # The markup of the country selects is kept once made; the case list's filters
    # keep theirs under the same names, with another empty choice.
    str(CaseFilter({"supplier_country": data["supplier_country"]}).form["supplier_country"])
    for _ in range(2):
        ours, djangos = CaseForm(data), DjangosCaseForm(data)
        ours.is_valid(), djangos.is_valid()
        for name in ("country", "supplier_country", "recipient_country"):
            assert str(ours[name]) == str(djangos[name])
    chosen = data["supplier_country"]
    if chosen:
        assert f'<option value="{chosen}" selected>' in str(ours["supplier_country"])


@pytest.mark.parametrize("key", [str(2**63), "1" + "0" * 40])
def test_a_weapon_system_no_row_can_be_is_refused_in_the_form(client, monitor, key):
    """A key beyond the column's range is refused like any unknown one (SQLite cannot
    even be asked about it), and nothing is saved."""
    missile = WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")
    client.force_login(monitor)
    response = client.post(NEW, case_data(weapon_systems=[missile.pk, key]))
    assert response.status_code == 200
    assert f"Select a valid choice. {key} is not one of the" in response.content.decode()
    assert 'value="near Donetsk"' in response.content.decode()
    assert not Case.objects.exists()
