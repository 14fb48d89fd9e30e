"""The admin's list pages render their rows column by column once a page
(tracker.admin_base.QuickChangeList); they must read exactly as Django renders them."""

from datetime import date

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.views.main import ChangeList
from django.urls import reverse

from evidence import custody
from evidence.models import CustodyAction, CustodyEvent, EvidenceItem
from tests import factories
from tracker.models import Case, IncidentType


@pytest.fixture
def cases(case_factory, reviewer):
    in_review = case_factory("in_review", by_reviewer=reviewer, title="Hwasong-11 debris <Kharkiv>")
    case_factory("submitted", incident_start=date(2023, 5, 1), recipient_country="")
    approved = case_factory("approved", incident_type=IncidentType.DEPOT_STRIKE)
    factories.EvidenceItemFactory(case=in_review, title="Debris photo <IMG_0412>")
    for item in EvidenceItem.objects.all():
        custody.record(item, CustodyAction.VIEWED, reviewer)
    return in_review, approved


@pytest.mark.parametrize(
    "model, query",
    [
        (Case, {"o": "-5.1", "q": ""}),
        (Case, {"state__exact": "approved"}),
        (EvidenceItem, {"stance__exact": "supports"}),
        (CustodyEvent, {}),
    ],
)
def test_rows_read_as_djangos_own(client, cases, admin_user, monkeypatch, model, query):
    client.force_login(admin_user)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = client.get(url, query)
    ours = [[str(cell) for cell in row] for row in response.context["cl"].table()["results"]]

    model_admin = admin.site.get_model_admin(model)
    monkeypatch.setattr(model_admin, "get_changelist", lambda request, **kwargs: ChangeList)
    djangos = model_admin.get_changelist_instance(response.wsgi_request)
    djangos.formset = None
    expected = [[str(cell) for cell in row] for row in admin_list.results(djangos)]

    assert ours == expected
    assert expected, "the page lists something"
    page = response.content.decode()
    for row in expected:
        assert "".join(row) in page
    if query:
        assert "?_changelist_filters=" in page  # row links keep the filters


def test_markup_is_escaped_and_empty_values_shown(client, cases, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("admin:tracker_case_changelist")).content.decode()
    assert "Hwasong-11 debris &lt;Kharkiv&gt;" in page
    assert '<td class="field-assigned_reviewer nowrap">-</td>' in page
