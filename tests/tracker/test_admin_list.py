"""The admin's case list: its incident-year filter is as honest as the site's date
range, and no value in its query string is a server error."""

from datetime import date

import pytest
from django.urls import reverse

from tests import factories

CHANGELIST = reverse("admin:tracker_case_changelist")


def titles(response):
    return {case.title for case in response.context["cl"].result_list}


def test_the_incident_year_finds_every_case_with_part_of_its_incident_in_it(
    client, case_factory, reviewer
):
    case_factory(
        "submitted",
        title="Munitions shipped",
        incident_start=date(2023, 9, 1),
        incident_end=date(2024, 2, 29),
        date_precision="month",
    )
    case_factory("submitted", title="Kharkiv debris", incident_start=date(2024, 1, 2))
    case_factory("submitted", title="Rajin port", incident_start=date(2022, 3, 1))
    client.force_login(reviewer)

    assert titles(client.get(CHANGELIST, {"incident_year": "2024"})) == {
        "Munitions shipped",
        "Kharkiv debris",
    }
    assert titles(client.get(CHANGELIST, {"incident_year": "2023"})) == {"Munitions shipped"}


@pytest.mark.parametrize(
    "query",
    [
        {"incident_year": "twenty"},
        {"incident_year": "9" * 50},
        {"state__exact": "pending"},
        {"incident_type__exact": "x" * 500},
        {"transfer": "KP"},
        {"transfer": "--"},
        {"weapon_systems__id__exact": "abc"},
        {"weapon_systems__id__exact": "9" * 30},
        {"weapon_systems__id__exact": "-1"},
        {"o": "99.x.-"},
        {"p": "abc"},
        {"q": "\x00"},
        {"incident_start__gte": "2024-01-01"},
    ],
)
def test_a_value_the_filters_cannot_use_is_no_server_error(client, case_factory, reviewer, query):
    case_factory("submitted", incident_start=date(2024, 1, 2))
    client.force_login(reviewer)
    response = client.get(CHANGELIST, query, follow=True)
    # Django's admin answers a lookup it cannot use by dropping it (?e=1), a lookup it
    # does not offer with 400; never 500.
    assert response.status_code in (200, 400)


@pytest.fixture
def seven_cases(case_factory):
    return [case_factory("submitted", title=f"Shipment {n}") for n in range(7)]


@pytest.fixture
def short_pages(monkeypatch):
    """Two cases a page, at most two pages."""
    from django.contrib import admin

    from tracker.models import Case

    case_admin = admin.site._registry[Case]
    monkeypatch.setattr(case_admin, "list_per_page", 2)
    monkeypatch.setattr(case_admin, "max_pages", 2)
    return case_admin


def text(response):
    return factories.text_of(response.content.decode())


def test_the_count_is_exact_up_to_the_limit_and_more_than_it_beyond(
    client, seven_cases, reviewer, settings
):
    client.force_login(reviewer)
    settings.EXACT_COUNT_LIMIT = 7
    assert "7 cases" in text(client.get(CHANGELIST))
    settings.EXACT_COUNT_LIMIT = 6
    page = text(client.get(CHANGELIST))
    assert "more than 6 cases" in page
    assert "7 cases" not in page
    # The search box counts the same way.
    assert "more than 6 results" in text(client.get(CHANGELIST, {"q": "shipment"}))
    settings.EXACT_COUNT_LIMIT = 10
    assert "7 results" in text(client.get(CHANGELIST, {"q": "shipment"}))


def test_the_count_is_kept_until_a_case_changes(
    client, seven_cases, reviewer, monitor, django_capture_on_commit_callbacks
):
    from tracker import workflow

    client.force_login(reviewer)
    shipments = {"q": "shipment"}
    assert "7 results" in text(client.get(CHANGELIST, shipments))
    with django_capture_on_commit_callbacks(execute=True):
        seven_cases[1].title = "Convoy"
        seven_cases[1].save()
    assert "6 results" in text(client.get(CHANGELIST, shipments))
    submitted = {**shipments, "state__exact": "submitted"}
    assert "6 results" in text(client.get(CHANGELIST, submitted))
    with django_capture_on_commit_callbacks(execute=True):
        workflow.withdraw(seven_cases[0], monitor)
    assert "5 results" in text(client.get(CHANGELIST, submitted))


def test_the_pages_stop_at_the_cap_and_say_how_to_go_on(
    client, seven_cases, reviewer, short_pages, django_assert_max_num_queries
):
    client.force_login(reviewer)
    with django_assert_max_num_queries(8) as first_queries:
        first = client.get(CHANGELIST)
    with django_assert_max_num_queries(len(first_queries)):
        second = client.get(CHANGELIST, {"p": 2})
    newest_first = [f"Shipment {n}" for n in reversed(range(7))]
    listed = [case.title for case in first.context["cl"].result_list]
    listed += [case.title for case in second.context["cl"].result_list]
    # Most recently moved first: the order they were submitted in, newest first.
    assert listed == newest_first[:4]
    assert "7 cases" in text(second)
    assert "the first 2 pages are listed: filter, search or sort to reach the others" in text(
        second
    )
    assert "?p=3" not in second.content.decode()
    # A page past the cap is Django's answer to a page that is not there: the list.
    beyond = client.get(CHANGELIST, {"p": 3}, follow=True)
    assert beyond.status_code == 200
    assert beyond.redirect_chain[-1][0].endswith("?e=1")


def test_select_all_says_every_matching_case_beyond_the_limit(
    client, seven_cases, reviewer, short_pages, settings
):
    client.force_login(reviewer)
    settings.EXACT_COUNT_LIMIT = 6
    page = text(client.get(CHANGELIST))
    assert "Select every matching case (more than 6)" in page
    settings.EXACT_COUNT_LIMIT = 10
    assert "Select all 7 cases" in text(client.get(CHANGELIST))


NUL = "The address holds a NUL character (%00)"
WRONG_KIND = "A filter in the address holds a value its field cannot hold"


@pytest.mark.parametrize(
    "url, query, why",
    [
        (CHANGELIST, {"state": "approved\x00"}, NUL),
        (CHANGELIST, {"supplier_country__exact": "\x00"}, NUL),
        (CHANGELIST, {"q": "Kharkiv\x00"}, NUL),
        (CHANGELIST, {"search_vector": ""}, "Something in the request was malformed"),
        (reverse("admin:evidence_source_changelist"), {"kind": "\x00"}, NUL),
        (reverse("admin:autocomplete"), {"term": "\x00", "app_label": "tracker"}, NUL),
        # PostgreSQL's driver reads the address before the query is sent; SQLite never does.
        pytest.param(
            reverse("admin:axes_accessattempt_changelist"),
            {"ip_address": "0"},
            WRONG_KIND,
            marks=pytest.mark.postgres,
        ),
    ],
)
def test_an_admin_address_it_cannot_use_is_refused_with_why(client, admin_user, url, query, why):
    """The admin hands a list's filters to the database unchecked: a value of the wrong
    kind fails only when the list is read, and PostgreSQL cannot read a NUL in text.
    The page says so instead of failing."""
    client.force_login(admin_user)
    response = client.get(url, query)
    assert response.status_code == 400
    assert why in response.content.decode()


def test_a_key_no_row_can_have_lists_nothing_or_says_why(client, admin_user):
    """SQLite cannot be asked about 2**63 (a 400 saying so); PostgreSQL finds no row."""
    client.force_login(admin_user)
    response = client.get(reverse("admin:auth_group_changelist"), {"permissions": str(2**63)})
    if response.status_code == 400:
        assert WRONG_KIND in response.content.decode()
    else:
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == []


def test_an_admin_list_with_a_filter_it_can_read_is_not_refused(client, admin_user, case_factory):
    case_factory("approved", title="Missile debris in Kharkiv")
    client.force_login(admin_user)
    response = client.get(CHANGELIST, {"state": "approved"})
    assert response.status_code == 200
    assert titles(response) == {"Missile debris in Kharkiv"}
