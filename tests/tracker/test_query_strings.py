"""Whatever a query string holds, the case list, its CSV export and the digest
preview answer 200 or 400 with a message, never a server error. The explicit examples
are the ones that once failed."""

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from digests.models import Subscription
from tracker.filters import CaseFilter
from tracker.models import SanctionsProvision, WeaponSystem

CASE_LIST_PARAMETERS = [*CaseFilter.base_filters, "page", "page_size", "cursor"]
PREVIEW_PARAMETERS = ["period_end", "format"]
LONG_SEARCH = urlencode({"q": "Kharkiv " * 7000})  # over SQLite's LIKE pattern limit

values = st.one_of(
    st.text(),
    st.binary(),  # percent-encoded bytes that are not UTF-8
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.dates().map(lambda day: day.isoformat()),
    st.sampled_from(
        [
            "0001-01-01",
            "9999-12-31",
            "10000-01-01",
            "2024-02-30",
            "1e999999",
            "NaN",
            "-Infinity",
            "9" * 5000,
            "\x00",
            ",",
            "--date",
            "date,title",
            "submitted",
            "KP",
            "text",
        ]
    ),
)


def query_strings(names):
    return st.lists(st.tuples(st.sampled_from(names), values), max_size=6).map(urlencode)


fuzzing = hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def some_cases(case_factory, reviewer):
    WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")
    SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a)")
    for state in ("draft", "submitted", "approved"):
        case_factory(state, by_reviewer=reviewer)


@pytest.mark.django_db
# A page of the list in no defined order would repeat or skip cases between pages.
@pytest.mark.filterwarnings("error::django.core.paginator.UnorderedObjectListWarning")
@fuzzing
@given(query=query_strings(CASE_LIST_PARAMETERS))
@example(query=LONG_SEARCH)
@example(query="sort=,")
@example(query="cursor=.eJyLVkrOz0nVyU0tLk5MT1WyUkpKzFGqBQBtjgiH:1abc:x")
@example(query="page=99999999999999999999")
@example(query="page=%D9%A3")  # an Arabic-Indic three: a digit, not an ASCII one
# Beyond the column's range: Django knows no row can match before asking the database.
@example(query="min_sources=" + "4" * 38)
def test_the_case_list_and_its_export_never_fail_on_a_query_string(
    client, monitor, some_cases, query
):
    client.force_login(monitor)
    page = client.get(f"/cases/?{query}")
    export = client.get(f"/cases/export.csv?{query}")
    assert page.status_code in (200, 400)
    assert export.status_code in (200, 400)
    if export.status_code == 200:
        b"".join(export.streaming_content)


@pytest.mark.django_db
@fuzzing
@given(query=query_strings(PREVIEW_PARAMETERS))
@example(query="period_end=0001-01-01")
@example(query="period_end=9999-12-31")
def test_the_digest_preview_never_fails_on_a_query_string(client, admin_user, some_cases, query):
    subscription, _ = Subscription.objects.get_or_create(email="committee@example.org")
    client.force_login(admin_user)
    response = client.get(f"/digests/preview/{subscription.pk}/?{query}")
    assert response.status_code in (200, 400)
