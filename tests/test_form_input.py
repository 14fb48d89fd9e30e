"""Whatever a form's fields hold, the site's and the admin's forms answer with the form
and its errors, a redirect or a refusal, never a server error. The fields are the ones
each page shows (read from it once), sent in any number and mix, each holding the
query-string fuzz tests' values: text, bytes that are not UTF-8, numbers far beyond
any column's range, impossible dates."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import factories
from tests.tracker.test_query_strings import CASE_LIST_PARAMETERS, fuzzing, query_strings, values
from tracker.models import SanctionsProvision, WeaponSystem

FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')
ANSWERS = (200, 302, 400, 403, 404, 405, 409)
# Each example posts to every form of a role: fewer examples than the query strings'.
forms_fuzzing = settings(fuzzing, max_examples=50)


@pytest.fixture
def world(case_factory, monitor, reviewer):
    WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")
    SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a)")
    draft = case_factory("draft")
    item = factories.manifest_on(draft, monitor)
    in_review = case_factory("in_review", by_reviewer=reviewer)
    return {"draft": draft, "item": item, "in_review": in_review}


def forms_of(client, urls):
    """Each page's field names, read before the first example: a form posted by one
    example may change what the page shows the next (a draft once submitted)."""
    fields = {}
    for url in urls:
        page = client.get(url)
        names = FIELD.findall(page.content.decode()) if page.status_code == 200 else []
        fields[url] = sorted(set(names) - {"csrfmiddlewaretoken"}) or ["comment"]
    return fields


def post_anything(client, fields, data):
    for url, names in fields.items():
        payload = {}
        for name in data.draw(st.lists(st.sampled_from(names), max_size=len(names) + 2)):
            value = data.draw(values)
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            payload.setdefault(name, []).append(value)
        response = client.post(url, payload)
        assert response.status_code in ANSWERS, (url, response.status_code, payload)


@pytest.fixture
def monitors_forms(client, monitor, world):
    client.force_login(monitor)
    draft, item = world["draft"].pk, world["item"].pk
    return forms_of(
        client,
        [
            "/cases/new/",
            f"/cases/{draft}/edit/",
            f"/cases/{draft}/evidence/new/",
            f"/cases/{draft}/evidence/{item}/edit/",
            f"/cases/{draft}/submit/",
            "/digests/subscription/",
            "/account/password/",
            "/account/api-tokens/",
            "/imports/",
            "/admin/tracker/case/add/",
            f"/admin/tracker/case/{draft}/change/",
        ],
    )


@pytest.fixture
def reviewers_forms(client, reviewer, world):
    client.force_login(reviewer)
    case = world["in_review"].pk
    return forms_of(
        client,
        [
            f"/admin/tracker/case/{case}/approve/",
            f"/admin/tracker/case/{case}/reject/",
            f"/admin/tracker/case/{case}/change/",
            f"/cases/{case}/approve/",
            "/admin/evidence/source/add/",
        ],
    )


@pytest.mark.django_db
@forms_fuzzing
@given(data=st.data())
def test_a_monitors_forms_never_fail_on_what_they_are_sent(client, monitors_forms, data):
    post_anything(client, monitors_forms, data)


@pytest.mark.django_db
@forms_fuzzing
@given(data=st.data())
def test_a_reviewers_forms_never_fail_on_what_they_are_sent(client, reviewers_forms, data):
    post_anything(client, reviewers_forms, data)


@pytest.mark.django_db
@fuzzing
@given(query=query_strings(CASE_LIST_PARAMETERS))
def test_the_dossier_list_and_the_admins_list_never_fail_on_a_query_string(
    client, reviewer, world, query
):
    client.force_login(reviewer)
    for url in ("/dossiers/cases/", "/admin/tracker/case/"):
        response = client.get(f"{url}?{query}")
        assert response.status_code in (200, 302, 400), (url, response.status_code)
