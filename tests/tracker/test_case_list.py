import io
import re
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from tracker import workflow
from tracker.models import Case, IncidentType, SanctionsProvision, WeaponSystem

LIST = reverse("tracker:case_list")


def references(response):
    return [case.reference for case in response.context["page"]]


def test_it_asks_for_sign_in(client, db):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={LIST}"


def test_it_shows_visible_cases_only(client, case_factory, monitor, other_monitor):
    mine = case_factory()
    theirs_draft = case_factory(created_by=other_monitor)
    theirs_submitted = case_factory("submitted", created_by=other_monitor)
    client.force_login(monitor)
    shown = references(client.get(LIST))
    assert mine.reference in shown
    assert theirs_submitted.reference in shown
    assert theirs_draft.reference not in shown


def test_stakeholders_see_approved_cases_only(client, case_factory, stakeholder):
    approved = case_factory("approved")
    case_factory("submitted")
    client.force_login(stakeholder)
    assert references(client.get(LIST)) == [approved.reference]


def test_it_filters_by_state_type_dates_and_countries(client, case_factory, monitor):
    wanted = case_factory(
        "submitted",
        incident_type=IncidentType.BATTLEFIELD_USE,
        incident_start=date(2024, 1, 2),
        supplier_country="KP",
        recipient_country="RU",
    )
    case_factory(
        "submitted", incident_type=IncidentType.BATTLEFIELD_USE, incident_start=date(2023, 1, 1)
    )
    case_factory("submitted", incident_type=IncidentType.BATTLEFIELD_USE, recipient_country="IR")
    case_factory(incident_type=IncidentType.BATTLEFIELD_USE, incident_start=date(2024, 1, 2))
    client.force_login(monitor)
    response = client.get(
        LIST,
        {
            "state": "submitted",
            "incident_type": "battlefield_use",
            "incident_from": "2024-01-01",
            "incident_to": "2024-12-31",
            "supplier_country": "KP",
            "recipient_country": "RU",
        },
    )
    assert references(response) == [wanted.reference]


JANUARY_2024 = {"incident_from": "2024-01-01", "incident_to": "2024-01-31"}


def test_a_date_range_finds_every_case_whose_incident_overlaps_it(client, case_factory, monitor):
    on_the_day = case_factory(title="Kharkiv debris", incident_start=date(2024, 1, 2))
    months = case_factory(
        title="Munitions shipped",
        incident_start=date(2023, 9, 1),
        incident_end=date(2024, 2, 29),
        date_precision="month",
    )
    into_january = case_factory(
        title="Strikes over New Year",
        incident_start=date(2023, 12, 29),
        incident_end=date(2024, 1, 1),
    )
    whole_year = case_factory(
        title="Shells all year", incident_start=date(2024, 6, 1), date_precision="year"
    )
    case_factory(title="Before", incident_start=date(2023, 12, 30))
    case_factory(title="After", incident_start=date(2024, 2, 1), incident_end=date(2024, 2, 3))
    case_factory(title="Year before", incident_start=date(2023, 1, 1), date_precision="year")
    client.force_login(monitor)

    found = set(references(client.get(LIST, JANUARY_2024)))

    assert found == {r.reference for r in (on_the_day, months, into_january, whole_year)}


def test_each_end_of_the_range_alone_finds_what_reaches_past_it(client, case_factory, monitor):
    months = case_factory(
        incident_start=date(2023, 9, 1), incident_end=date(2024, 2, 29), date_precision="month"
    )
    january = case_factory(incident_start=date(2024, 1, 2))
    client.force_login(monitor)
    assert references(client.get(LIST, {"incident_from": "2024-02-29"})) == [months.reference]
    assert references(client.get(LIST, {"incident_to": "2023-09-01"})) == [months.reference]
    assert set(references(client.get(LIST, {"incident_to": "2024-01-02"}))) == {
        months.reference,
        january.reference,
    }


def test_a_case_known_to_the_month_counts_for_every_day_of_it(client, monitor):
    """Logged as "January 2024" with whatever day the date picker had, it is found by a
    search for the last days of January, and not by one for February."""
    client.force_login(monitor)
    client.post(
        reverse("tracker:case_create"),
        {
            "title": "Shells shipped in January",
            "summary": "Reported without a day.",
            "incident_type": "munitions_shipment",
            "date_precision": "month",
            "incident_start": "2024-01-02",
            "place_name": "Rajin",
            "country": "KP",
        },
    )
    [case] = Case.objects.all()
    late_january = {"incident_from": "2024-01-25", "incident_to": "2024-01-31"}
    assert references(client.get(LIST, late_january)) == [case.reference]
    assert references(client.get(LIST, {"incident_from": "2024-02-01"})) == []


def test_filtering_january_2024_finds_the_demo_shipment(client, settings, db):
    """The demo's CASE-…-0001, the munitions shipped September 2023 – February 2024."""
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    shipment = Case.objects.get(title__startswith="About 6,700 containers")
    client.force_login(get_user_model().objects.get(username="monitor"))

    page = client.get(LIST, JANUARY_2024)

    assert shipment.reference.endswith("-0001")
    assert shipment.reference in references(page)
    assert "September 2023 – February 2024" in page.content.decode()


def test_it_filters_by_weapon_system_and_provision(client, case_factory, monitor):
    missile = WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")
    embargo = SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a)")
    both = case_factory()
    both.weapon_systems.add(missile)
    both.sanctions_provisions.add(embargo)
    only_missile = case_factory()
    only_missile.weapon_systems.add(missile)
    case_factory()
    client.force_login(monitor)
    response = client.get(LIST, {"weapon_system": missile.pk, "sanctions_provision": embargo.pk})
    assert references(response) == [both.reference]


def test_it_filters_by_independent_supporting_sources(client, case_factory, monitor, add_item):
    corroborated = case_factory(title="Corroborated")
    add_item(corroborated, "ROK National Intelligence Service")
    add_item(corroborated, "Ukrainian intelligence")
    echoed = case_factory(title="One source, reported twice")
    add_item(echoed, "Ukrainian army")
    add_item(echoed, "Ukrainian army", title="The same claim, again")
    add_item(echoed, "Kremlin spokesman", stance="refutes")
    client.force_login(monitor)
    response = client.get(LIST, {"min_sources": 2})
    assert references(response) == [corroborated.reference]


def test_free_text_searches_title_summary_and_place(client, case_factory, monitor):
    debris = case_factory(title="Missile debris", place_name="Kharkiv")
    troops = case_factory(title="Troops moved", summary="Soldiers shipped to Vladivostok.")
    case_factory(title="Depot strike", place_name="Bryansk")
    client.force_login(monitor)
    assert references(client.get(LIST, {"q": "Kharkiv"})) == [debris.reference]
    assert references(client.get(LIST, {"q": "Vladivostok"})) == [troops.reference]


@pytest.mark.postgres
def test_free_text_search_uses_stemming_and_the_index(client, case_factory, monitor):
    from django.contrib.postgres.search import SearchQuery
    from django.db import connection

    from tracker.models import Case

    shipped = case_factory(summary="Containers of shells were shipped by rail.")
    case_factory(summary="A strike on a depot.")
    client.force_login(monitor)
    assert references(client.get(LIST, {"q": "shipping containers"})) == [shipped.reference]

    # Unordered: with the list's order, a near-empty table may be read along the order's
    # index instead, which says nothing about the search.
    query = Case.objects.filter(
        search_vector=SearchQuery("shells", search_type="websearch", config="english")
    ).order_by()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = query.explain()
        cursor.execute("RESET enable_seqscan")
    assert "case_search_vector_idx" in plan


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_recent_incidents_are_counted_from_the_span_index_alone(case_factory, monitor):
    from django.db import connection
    from django.http import QueryDict
    from django.test.utils import CaptureQueriesContext

    from common.paging import capped_count
    from tests.conftest import case_table_plan
    from tracker.filters import CaseFilter

    # An archive of many years: few recent incidents among many old ones (copies of one
    # old case, as only the dates matter here).
    case_factory("approved", supplier_country="KP", incident_start=date(2024, 3, 1))
    old = case_factory("approved", supplier_country="KP", incident_start=date(2001, 3, 1))
    fields = [f.attname for f in Case._meta.concrete_fields if not f.primary_key]
    Case.objects.bulk_create(
        Case(**{name: getattr(old, name) for name in fields} | {"reference": f"OLD-{n}"})
        for n in range(2000)
    )
    query = QueryDict("state=approved&supplier_country=KP&incident_from=2023-01-01")
    cases = CaseFilter(query, queryset=Case.objects.visible_to(monitor)).qs
    with CaptureQueriesContext(connection) as counted:
        assert capped_count(cases) == (1, True)
    # The list's count must not read every old row, nor the recent ones' rows.
    plan = case_table_plan(counted.captured_queries[0]["sql"])
    assert "Index Only Scan using case_span_idx" in plan, plan


def test_a_reference_finds_its_case(client, case_factory, monitor):
    wanted = case_factory()
    case_factory()
    client.force_login(monitor)
    assert references(client.get(LIST, {"q": f" {wanted.reference.lower()} "})) == [
        wanted.reference
    ]


def test_an_edited_case_is_found_by_its_new_words(client, case_factory, monitor):
    case = case_factory(title="Debris found", summary="Fragments of a missile.")
    client.force_login(monitor)
    assert references(client.get(LIST, {"q": "Kharkiv"})) == []

    case.title = "Hwasong-11 debris found in Kharkiv"
    case.save()
    assert references(client.get(LIST, {"q": "Kharkiv"})) == [case.reference]
    assert references(client.get(LIST, {"q": "fragments"})) == [case.reference]


def test_the_form_shows_the_filters_in_use(client, case_factory, monitor):
    """What a monitor filtered by stays chosen in the form, so the next change of
    filter starts from it."""
    shells = WeaponSystem.objects.create(name="122 mm artillery shells <M-30>")
    client.force_login(monitor)
    page = client.get(
        LIST,
        {
            "state": ["submitted", "approved"],
            "incident_type": "depot_strike",
            "supplier_country": "KP",
            "weapon_system": shells.pk,
            "sort": "-date",
        },
    ).content.decode()
    checked = re.findall(
        r'<input type="checkbox" name="state" value="(\w+)" id="id_state_\d+" checked>', page
    )
    assert checked == ["submitted", "approved"]
    assert '<label for="id_state_0"><input type="checkbox" name="state" value="draft"' in page
    assert '<option value="depot_strike" selected>' in page
    assert '<option value="KP" selected>North Korea</option>' in page
    assert (
        f'<option value="{shells.pk}" selected>122 mm artillery shells &lt;M-30&gt;</option>'
        in page
    )
    assert '<option value="-date" selected>' in page
    assert '<option value="" selected>' in page  # the provision: none chosen


def test_the_form_kept_for_one_query_is_not_shown_for_another(
    client, monitor, django_capture_on_commit_callbacks
):
    client.force_login(monitor)
    assert (
        '<option value="KP" selected>'
        in client.get(LIST, {"supplier_country": "KP"}).content.decode()
    )
    page = client.get(LIST, {"supplier_country": "RU"}).content.decode()
    assert '<option value="RU" selected>' in page
    assert '<option value="KP" selected>' not in page

    # A weapon system added since is offered at once, whatever the query.
    with django_capture_on_commit_callbacks(execute=True):
        WeaponSystem.objects.create(name="KN-25 multiple rocket launcher")
    page = client.get(LIST, {"supplier_country": "RU"}).content.decode()
    assert "KN-25 multiple rocket launcher</option>" in page
    assert '<option value="RU" selected>' in page


def test_it_sorts_by_a_column_both_ways(client, case_factory, monitor):
    older = case_factory(incident_start=date(2023, 9, 1))
    newer = case_factory(incident_start=date(2024, 10, 9))
    client.force_login(monitor)
    assert references(client.get(LIST, {"sort": "date"})) == [older.reference, newer.reference]
    assert references(client.get(LIST, {"sort": "-date"})) == [newer.reference, older.reference]


def test_links_keep_the_filters(client, case_factory, monitor):
    for _ in range(3):
        case_factory(place_name="Kharkiv")
    client.force_login(monitor)
    response = client.get(LIST, {"q": "Kharkiv", "page_size": 25, "sort": "date"})
    html = response.content.decode()
    assert "export.csv?q=Kharkiv&amp;page_size=25&amp;sort=date" in html
    assert "?q=Kharkiv&amp;page_size=25&amp;sort=-date" in html


def test_it_paginates_with_a_chosen_page_size(client, case_factory, monitor):
    for _ in range(30):
        case_factory()
    client.force_login(monitor)
    first = client.get(LIST)
    assert len(references(first)) == 25
    assert "page=2" in first.content.decode()
    assert len(references(client.get(LIST, {"page": 2}))) == 5
    assert len(references(client.get(LIST, {"page_size": 50}))) == 30
    assert len(references(client.get(LIST, {"page_size": 7}))) == 25


def test_a_page_costs_the_same_queries_whatever_its_length(
    client, case_factory, monitor, add_item, django_assert_max_num_queries
):
    missile = WeaponSystem.objects.create(name="Artillery ammunition")
    for number in range(100):
        case = case_factory("submitted" if number % 2 else "draft")
        case.weapon_systems.add(missile)
        add_item(case, f"Source {number % 3}")
    client.force_login(monitor)
    client.get(LIST, {"sort": "sources"})
    queries = {}
    for page_size in (25, 100):
        # user, permissions, count, page, weapon systems of the page (the session and
        # the filter form's markup, for this query, come from the cache)
        with django_assert_max_num_queries(5) as captured:
            response = client.get(LIST, {"page_size": page_size, "sort": "sources"})
        assert len(references(response)) == page_size
        queries[page_size] = len(captured)
    assert queries[25] == queries[100]


def test_a_filter_value_it_cannot_read_is_explained_and_exports_nothing(
    client, case_factory, monitor
):
    case_factory("submitted", incident_start=date(2024, 1, 2))
    client.force_login(monitor)
    query = {"incident_from": "2024-13-01", "q": "x" * 201}

    page = client.get(LIST, query)
    export = client.get(reverse("exchange:case_export", args=["csv"]), query)

    assert page.status_code == 200
    html = page.content.decode()
    assert "“2024-13-01” is not a date. Enter one as YYYY-MM-DD" in html
    assert "at most 200 characters" in html
    assert export.status_code == 400
    assert "“2024-13-01” is not a date." in export.content.decode()
    assert "at most 200 characters (it has 201)" in export.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"incident_from": "2024-02-30"},
        {"incident_to": "January"},
        {"incident_from": "2024-02-01", "incident_to": "2024-01-01"},
        {"min_sources": "-1"},
        {"supplier_country": "XX"},
        {"state": ["submitted", "pending"]},
    ],
)
def test_a_filter_value_it_cannot_read_lists_no_case_at_all(client, case_factory, monitor, query):
    """Never the unfiltered list, as if it were the answer: the error and nothing else."""
    case_factory("submitted", incident_start=date(2024, 1, 2), supplier_country="KP")
    client.force_login(monitor)
    page = client.get(LIST, query)
    html = page.content.decode()
    assert references(page) == []
    assert "No case is listed: a filter below could not be read." in html
    assert 'class="errorlist"' in html
    assert "No case matches these filters." not in html
    assert "Download these as CSV" not in html


def test_a_range_that_ends_before_it_starts_says_so(client, monitor):
    client.force_login(monitor)
    page = client.get(LIST, {"incident_from": "2024-02-01", "incident_to": "2024-01-01"})
    assert "This is before the “Incident from” date; swap the two." in page.content.decode()


def test_the_incident_dates_are_date_inputs_with_a_format_hint(client, monitor):
    client.force_login(monitor)
    html = client.get(LIST, {"incident_from": "2024-01-01"}).content.decode()
    assert re.search(r'<input type="date" name="incident_from" value="2024-01-01"[^>]*>', html)
    assert re.search(r'<input type="date" name="incident_to"[^>]*>', html)
    assert "Any part of the incident on or after this day (YYYY-MM-DD)." in html
    assert "Any part of the incident on or before this day (YYYY-MM-DD)." in html


def count_shown(response):
    return response.context["page"].count_text


def counted_again(queries):
    return [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_a_list_is_counted_once_until_what_it_lists_changes(
    client, case_factory, monitor, add_item, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case_factory("submitted", title="Convoy near Rostov")
    named_in_evidence = case_factory("submitted", title="Trucks at a port")
    item = add_item(case_factory("submitted", title="Shells"), "Local outlet")
    client.force_login(monitor)
    rostov = {"q": "Rostov"}
    assert count_shown(client.get(LIST, rostov)) == "1 case"
    with CaptureQueriesContext(connection) as queries:
        assert count_shown(client.get(LIST, rostov)) == "1 case"
    assert counted_again(queries) == []

    # Whatever puts a case on the list shows once it is committed: evidence naming
    # the place, a new case, a source renamed (the search reads sources' names).
    with django_capture_on_commit_callbacks(execute=True):
        add_item(named_in_evidence, "Reuters", excerpt="The trucks left for Rostov.")
    assert count_shown(client.get(LIST, rostov)) == "2 cases"
    with django_capture_on_commit_callbacks(execute=True):
        case_factory("submitted", title="Depot in Rostov")
    assert count_shown(client.get(LIST, rostov)) == "3 cases"
    assert count_shown(client.get(LIST, {"q": "Herald"})) == "0 cases"
    with django_capture_on_commit_callbacks(execute=True):
        item.source.name = "Rostov Herald"
        item.source.save()
    assert count_shown(client.get(LIST, {"q": "Herald"})) == "1 case"
    # A review step takes a case off a list filtered by state.
    assert count_shown(client.get(LIST, {"state": "submitted"})) == "4 cases"
    with django_capture_on_commit_callbacks(execute=True):
        workflow.withdraw(named_in_evidence, monitor)
    assert count_shown(client.get(LIST, {"state": "submitted"})) == "3 cases"


def test_users_who_see_different_cases_never_share_a_count(
    client, case_factory, monitor, other_monitor, stakeholder
):
    case_factory(title="Rostov draft")
    case_factory("approved", title="Rostov approved")
    for user, shown in [
        (monitor, "2 cases"),
        (other_monitor, "1 case"),
        (stakeholder, "1 case"),
        (monitor, "2 cases"),
    ]:
        client.force_login(user)
        assert count_shown(client.get(LIST, {"q": "Rostov"})) == shown, user


def test_a_weapon_system_linked_or_unlinked_shows_in_the_count(
    client, case_factory, monitor, django_capture_on_commit_callbacks
):
    missile = WeaponSystem.objects.create(name="Hwasong-11", category="ballistic missile")
    case = case_factory("submitted", title="Debris in Kharkiv")
    client.force_login(monitor)
    by_missile = {"weapon_system": missile.pk}
    assert count_shown(client.get(LIST, by_missile)) == "0 cases"
    with django_capture_on_commit_callbacks(execute=True):
        case.weapon_systems.add(missile)
    assert count_shown(client.get(LIST, by_missile)) == "1 case"
    with django_capture_on_commit_callbacks(execute=True):
        case.weapon_systems.remove(missile)
    assert count_shown(client.get(LIST, by_missile)) == "0 cases"
