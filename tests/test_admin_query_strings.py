"""Whatever an admin list's address holds, the list answers 200, a redirect (Django's
"?e=1" for a filter it cannot read) or 400 with why, never a server error. The admin
filters by any column of a model named in the address, so every registered model's
list is tried with its own columns, with the query-string fuzz tests' values."""

from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from tests.tracker.test_query_strings import fuzzing, values

# Django's own parameters of a list: search, order, page, errors, popups.
LIST_PARAMETERS = ["q", "o", "p", "e", "_to_field", "_popup", "all"]


def lists_and_their_filters():
    lists = []
    for model in admin.site._registry:
        columns = [field.name for field in model._meta.get_fields() if hasattr(field, "attname")]
        filters = [
            f"{column}{lookup}" for column in columns for lookup in ("", "__exact", "__gte", "__in")
        ]
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        lists.append((url, filters + LIST_PARAMETERS))
    return lists


@pytest.fixture
def an_approved_case(case_factory):
    return case_factory("approved")


@pytest.mark.django_db
@fuzzing
@given(data=st.data())
def test_no_admin_list_fails_on_its_address(client, admin_user, an_approved_case, data):
    client.force_login(admin_user)
    url, names = data.draw(st.sampled_from(lists_and_their_filters()))
    query = data.draw(st.lists(st.tuples(st.sampled_from(names), values), max_size=4))
    response = client.get(f"{url}?{urlencode(query)}")
    assert response.status_code in (200, 302, 400), (url, query, response.status_code)
