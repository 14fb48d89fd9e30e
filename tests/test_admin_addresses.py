"""Whatever an admin page's address holds, it answers with the page, a redirect, 400
with why or 404, never a server error.

The admin filters a list by any column of its model named in the query string, so
every registered model's list is tried with its own columns; and its pages (and
django-simple-history's) look objects and versions up by whatever the path holds.
The values are the query-string fuzz tests'."""

from urllib.parse import quote, urlencode

import pytest
from django.contrib import admin
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from tests.tracker.test_query_strings import fuzzing, values

# Django's own parameters of a list: search, order, page, errors, popups.
LIST_PARAMETERS = ["q", "o", "p", "e", "_to_field", "_popup", "all"]


def list_url(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def lists_and_their_filters():
    lists = []
    for model in admin.site._registry:
        columns = [field.name for field in model._meta.get_fields() if hasattr(field, "attname")]
        filters = [
            f"{column}{lookup}" for column in columns for lookup in ("", "__exact", "__gte", "__in")
        ]
        lists.append((list_url(model), filters + LIST_PARAMETERS))
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


# The object's pages (the review's own among them) and a version of its history.
OBJECT_PAGES = ["change/", "history/", "delete/", "approve/", "reject/", "history/{version}/"]


@pytest.mark.django_db
@fuzzing
@given(
    base=st.sampled_from([list_url(model) for model in admin.site._registry]),
    key=st.one_of(st.text(min_size=1), values),
    page=st.sampled_from(OBJECT_PAGES),
    version=st.one_of(st.text(min_size=1), values),
)
def test_no_admin_page_fails_on_the_key_in_its_path(
    client, admin_user, an_approved_case, base, key, page, version
):
    client.force_login(admin_user)
    key, version = (v.decode("latin-1") if isinstance(v, bytes) else v for v in (key, version))
    url = base + quote(key, safe="") + "/" + page.format(version=quote(version, safe=""))
    response = client.get(url)
    assert response.status_code in (200, 302, 400, 403, 404, 405), (url, response.status_code)
