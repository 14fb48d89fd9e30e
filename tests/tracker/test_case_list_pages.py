"""The case list's count and pages at any depth: exact up to EXACT_COUNT_LIMIT, "more
than" beyond it; "Next" and "Previous" carry a keyset cursor, so paging through the list
in any order shows every case once, also while cases are logged; a link that is no
cursor of ours shows the first page and says so."""

from datetime import date
from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from tests import factories
from tracker import listing
from tracker.models import Case

LIST = reverse("tracker:case_list")
SORTS = [
    "",
    "reference",
    "-reference",
    "title",
    "-title",
    "type",
    "date",
    "-date",
    "state",
    "sources",
    "-sources",
    "changed",
    "-changed",
    "date,-title",
]
DAYS = [date(2024, 1, 2), date(2023, 9, 1), date(2024, 10, 9)]
TYPES = ["munitions_shipment", "battlefield_use", "munitions_shipment", "other"]


def references(response):
    return [case.reference for case in response.context["page"]]


def text_of(response):
    return factories.text_of(response.content.decode())


def link(response, rel):
    page = response.context["page"]
    query = getattr(page, rel)
    return None if query is None else f"{LIST}?{query}"


@pytest.fixture
def many_cases(case_factory, monitor):
    """60 cases, with ties on every sort key but the reference, and several search
    ranks: more than two pages of 25."""
    cases = []
    for n in range(60):
        words = "artillery shells" + " shells" * (n % 3)
        cases.append(
            case_factory(
                title=f"{words} {n % 7}",
                incident_start=DAYS[n % 3],
                incident_type=TYPES[n % 4],
            )
        )
    for case in cases[::9]:
        factories.corroborate(case, 1 + cases.index(case) % 2)
    return cases


def every_page(client, url, pages=None):
    """The references of each page, following "Next" from ``url``."""
    seen = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen.append(references(response))
        url = link(response, "next")
    return seen


@pytest.mark.parametrize("sort", SORTS)
def test_next_pages_through_every_case_once_in_the_lists_order(client, many_cases, monitor, sort):
    client.force_login(monitor)
    query = {"sort": sort} if sort else {}
    whole = references(client.get(LIST, {**query, "page_size": 100}))
    assert len(whole) == 60
    pages = every_page(client, f"{LIST}?sort={sort}")
    assert [len(page) for page in pages] == [25, 25, 10]
    assert sum(pages, []) == whole


def test_the_search_pages_on_in_its_order_of_relevance(client, many_cases, monitor):
    client.force_login(monitor)
    whole = references(client.get(LIST, {"q": "shells", "page_size": 100}))
    assert len(whole) == 60
    ranked = client.get(LIST, {"q": "shells", "page_size": 100}).context["page"].object_list
    ranks = [case.search_rank for case in ranked]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) > 1
    assert sum(every_page(client, f"{LIST}?q=shells"), []) == whole


def test_cases_logged_meanwhile_neither_repeat_nor_push_cases_off_a_page(
    client, many_cases, monitor, case_factory
):
    client.force_login(monitor)
    first = client.get(LIST, {"sort": "date"})
    before = references(client.get(LIST, {"sort": "date", "page_size": 100}))
    # New cases on the first day and the last: before and after the page seen.
    for day in (DAYS[1], DAYS[2], DAYS[1]):
        case_factory(incident_start=day, title="Logged meanwhile")
    second = client.get(link(first, "next"))
    third = client.get(link(second, "next"))
    assert references(second) == before[25:50]
    assert references(third)[:10] == before[50:]
    assert Case.objects.filter(title="Logged meanwhile").count() == 3
    back = client.get(link(third, "previous"))
    assert references(back) == before[25:50]
    assert second.context["page"].number == back.context["page"].number == 2


def test_previous_from_the_second_page_is_the_top_of_the_list(client, many_cases, monitor):
    client.force_login(monitor)
    first = client.get(LIST)
    second = client.get(link(first, "next"))
    assert link(first, "previous") is None
    assert link(second, "previous") == f"{LIST}?"
    assert references(client.get(link(second, "previous"))) == references(first)


def test_the_page_numbers_lead_to_the_first_pages_and_next_beyond_them(
    client, many_cases, monitor, monkeypatch
):
    monkeypatch.setattr(listing, "NUMBERED_PAGES", 2)
    client.force_login(monitor)
    whole = references(client.get(LIST, {"page_size": 100}))
    first = client.get(LIST)
    assert [number for number, _ in first.context["page"].numbered] == [1, 2]
    assert "Page 1 of 3" in text_of(first)
    assert "Pages: 1 2 …" in text_of(first)
    second = client.get(LIST, {"page": 2})
    assert references(second) == whole[25:50]
    # Page 3 is not offered by number: asked for, it is the last numbered page, with
    # the way on.
    asked = client.get(LIST, {"page": 3})
    assert references(asked) == whole[25:50]
    assert "“Next page” leads on" in text_of(asked)
    third = client.get(link(second, "next"))
    assert references(third) == whole[50:]
    assert "Page 3 of 3" in text_of(third)
    assert link(third, "next") is None


def test_the_count_is_exact_up_to_the_limit_and_more_than_it_beyond(
    client, many_cases, monitor, settings
):
    client.force_login(monitor)
    settings.EXACT_COUNT_LIMIT = 60
    page = client.get(LIST)
    assert "60 cases." in text_of(page)
    assert "Page 1 of 3" in text_of(page)
    settings.EXACT_COUNT_LIMIT = 59
    page = client.get(LIST)
    assert "More than 59 cases." in text_of(page)
    assert "Page 1 " in text_of(page) and "Page 1 of" not in text_of(page)
    assert len(references(page)) == 25
    # The search counts the same way; a count within the limit stays exact.
    assert "More than 59 cases." in text_of(client.get(LIST, {"q": "shells"}))
    assert "20 cases." in text_of(client.get(LIST, {"incident_from": "2024-10-01"}))
    settings.EXACT_COUNT_LIMIT = 10_000
    assert "1 case." in text_of(client.get(LIST, {"q": many_cases[0].reference}))


def test_a_count_beyond_the_limit_reads_with_thousands_separated(settings):
    settings.EXACT_COUNT_LIMIT = 10_000
    page = listing.CasePage([], 1, 10_001, False, 25)
    assert page.count_text == "More than 10,000 cases"
    assert listing.CasePage([], 1, 1234, True, 25).count_text == "1,234 cases"


@pytest.mark.parametrize(
    "cursor",
    ["junk", "", "a" * 5000, "eyJiIjpmYWxzZX0:1abc:xyz", "\x00", "..:.."],
)
def test_a_cursor_that_is_none_of_ours_shows_the_first_page_and_says_so(
    client, many_cases, monitor, cursor
):
    client.force_login(monitor)
    first = references(client.get(LIST))
    response = client.get(LIST, {"cursor": cursor})
    assert response.status_code == 200
    assert references(response) == first
    if cursor:
        assert "could not be read" in text_of(response)


def test_a_cursor_of_another_order_shows_the_first_page_of_this_one(client, many_cases, monitor):
    client.force_login(monitor)
    next_by_title = link(client.get(LIST, {"sort": "title"}), "next")
    cursor = parse_qs(next_by_title.split("?", 1)[1])["cursor"][0]
    response = client.get(LIST, {"sort": "date", "cursor": cursor})
    assert response.status_code == 200
    assert references(response) == references(client.get(LIST, {"sort": "date"}))
    assert "belongs to the list in another order" in text_of(response)


def test_the_sort_links_start_again_at_the_top(client, many_cases, monitor):
    client.force_login(monitor)
    second = client.get(link(client.get(LIST, {"sort": "date"}), "next"))
    html = second.content.decode()
    assert 'href="?sort=-date"' in html
    assert "cursor=" not in html.split("<thead>")[1].split("</thead>")[0]


def test_a_deep_page_costs_the_queries_of_the_first(
    client, many_cases, monitor, django_assert_max_num_queries
):
    client.force_login(monitor)
    # user, permissions, count, page, weapon systems of the page, the filter form's
    # weapon systems and provisions (the session comes from the cache)
    with django_assert_max_num_queries(7):
        first = client.get(LIST, {"sort": "sources"})
    with django_assert_max_num_queries(7):
        second = client.get(link(first, "next"))
    with django_assert_max_num_queries(7):
        client.get(link(second, "next"))
