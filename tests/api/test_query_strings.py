"""Whatever a query string or a path holds, the API answers 2xx or a 4xx with a
message, never a server error: the case list page's own fuzzing (the values that once
failed there included), over the API's list, its cursor and page size, and paths."""

from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.tracker.test_query_strings import CASE_LIST_PARAMETERS, fuzzing, query_strings, values

API_LIST_PARAMETERS = CASE_LIST_PARAMETERS  # the cursor included


@pytest.mark.django_db
@fuzzing
@given(query=query_strings(API_LIST_PARAMETERS))
@example(query="page_size=%C2%B2")  # a digit to str.isdigit, not to int()
@example(query="q=%00")
@example(query="q=Kharkiv&min_sources=" + "4" * 38)  # beyond the column's range
def test_the_api_case_list_never_fails_on_a_query_string(
    monitor, some_api_cases, token_client, query
):
    response = token_client(monitor).get(f"/api/v1/cases/?{query}")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["errors"]


@pytest.mark.django_db
@fuzzing
@given(part=st.one_of(st.text(min_size=1), values))
@example(part="\x00")
@example(part="CASE-2024-0001\x00")
def test_a_path_of_any_text_finds_nothing_or_the_case(monitor, token_client, part):
    client = token_client(monitor)
    for url in (
        f"/api/v1/cases/{quote(part, safe='')}/",
        f"/api/v1/cases/x/actions/{quote(part, safe='')}/",
    ):
        response = client.get(url)
        assert response.status_code in (200, 404, 405), (url, response.status_code)


@pytest.fixture
def some_api_cases(case_factory, reviewer):
    for state in ("draft", "submitted", "approved"):
        case_factory(state, by_reviewer=reviewer)
