"""A case's date shows as precisely as it is known, never more: on the site, in the
admin, in emails and exports; and a case known to the month or the year covers it."""

import csv
import importlib
import io
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken, Scope
from evidence.models import EvidenceItem
from mailer.mail import render_email
from tests import factories
from tracker import workflow
from tracker.models import Case, DatePrecision

NEW = reverse("tracker:case_create")
CHANGELIST = reverse("admin:tracker_case_changelist")


@pytest.mark.parametrize(
    ("precision", "start", "end", "shown"),
    [
        ("day", date(2024, 10, 3), None, "3 October 2024"),
        ("day", date(2024, 10, 8), date(2024, 10, 13), "8 October 2024 – 13 October 2024"),
        ("month", date(2024, 1, 1), date(2024, 1, 31), "January 2024"),
        ("month", date(2023, 9, 1), date(2024, 2, 29), "September 2023 – February 2024"),
        ("year", date(2024, 1, 1), date(2024, 12, 31), "2024"),
        ("year", date(2023, 1, 1), date(2024, 12, 31), "2023 – 2024"),
        ("approximate", date(2024, 10, 3), None, "about 3 October 2024"),
        (
            "approximate",
            date(2024, 10, 1),
            date(2024, 10, 5),
            "about 1 October 2024 – 5 October 2024",
        ),
    ],
)
def test_the_incident_period_reads_at_its_precision(precision, start, end, shown):
    case = Case(incident_start=start, incident_end=end, date_precision=precision)
    assert case.incident_period == shown


@pytest.mark.parametrize(
    ("precision", "typed", "stored"),
    [
        ("month", (date(2024, 1, 20), None), (date(2024, 1, 1), date(2024, 1, 31))),
        ("month", (date(2023, 9, 15), date(2024, 2, 2)), (date(2023, 9, 1), date(2024, 2, 29))),
        ("year", (date(2024, 6, 1), None), (date(2024, 1, 1), date(2024, 12, 31))),
        ("year", (date(2023, 5, 5), date(2024, 3, 3)), (date(2023, 1, 1), date(2024, 12, 31))),
        ("day", (date(2024, 1, 20), None), (date(2024, 1, 20), None)),
        ("approximate", (date(2024, 1, 20), None), (date(2024, 1, 20), None)),
    ],
)
def test_a_saved_case_covers_the_whole_of_its_months_or_years(
    case_factory, precision, typed, stored
):
    case = case_factory(incident_start=typed[0], incident_end=typed[1], date_precision=precision)
    case.refresh_from_db()
    assert (case.incident_start, case.incident_end) == stored


def case_data(**changes):
    return {
        "title": "Shells shipped from Rajin",
        "summary": "Reported without a day.",
        "incident_type": "munitions_shipment",
        "date_precision": "day",
        "incident_start": "2024-01-20",
        "place_name": "Rajin",
        "country": "KP",
        **changes,
    }


def test_a_monitor_logs_a_case_known_to_the_month(client, monitor):
    client.force_login(monitor)
    response = client.post(
        NEW,
        case_data(date_precision="month", incident_start="2023-09-15", incident_end="2024-02-02"),
        follow=True,
    )
    case = Case.objects.get()
    assert (case.incident_start, case.incident_end) == (date(2023, 9, 1), date(2024, 2, 29))
    page = response.content.decode()
    assert "September 2023 – February 2024" in page
    assert "15 September" not in page and "1 September" not in page


def test_a_monitor_logs_a_case_known_to_the_year(client, monitor):
    client.force_login(monitor)
    response = client.post(NEW, case_data(date_precision="year"), follow=True)
    case = Case.objects.get()
    assert (case.incident_start, case.incident_end) == (date(2024, 1, 1), date(2024, 12, 31))
    assert "<dd>2024 (year)</dd>" in response.content.decode()


def test_a_range_that_ends_before_it_starts_is_refused_at_any_precision(client, monitor):
    client.force_login(monitor)
    response = client.post(
        NEW,
        case_data(date_precision="month", incident_start="2024-03-10", incident_end="2024-02-10"),
    )
    assert response.status_code == 200
    assert "The end of the date range cannot be before its start." in response.content.decode()
    assert not Case.objects.exists()


def days_from_today(days):
    return (timezone.localdate() + timedelta(days=days)).isoformat()


FUTURE = "It cannot be in the future: give the date it happened."


def test_an_incident_after_tomorrow_is_refused_as_a_slip(client, monitor):
    # Tomorrow is today somewhere on Earth.
    client.force_login(monitor)
    response = client.post(NEW, case_data(incident_start=days_from_today(2)))
    assert response.status_code == 200
    assert FUTURE in response.content.decode()
    assert not Case.objects.exists()
    client.post(NEW, case_data(incident_start=days_from_today(1)))
    assert Case.objects.get().incident_start == timezone.localdate() + timedelta(days=1)


def test_the_api_refuses_a_future_incident_as_the_form_does(monitor):
    _, token = ApiToken.issue(monitor, "script", Scope.WRITE)
    api = APIClient(headers={"Authorization": f"Bearer {token}"})
    response = api.post("/api/v1/cases/", case_data(incident_start="9999-12-31"), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"pointer": "#/incident_start", "detail": FUTURE}]
    assert not Case.objects.exists()


@pytest.mark.parametrize("field", ["published_on", "obtained_on"])
def test_evidence_published_or_obtained_after_tomorrow_is_refused(client, case_factory, field):
    case = case_factory()
    client.force_login(case.created_by)
    source = factories.SourceFactory()
    item = {"title": "Briefing", "source": source.pk, "kind": "statement", "stance": "supports"}
    response = client.post(
        reverse("tracker:evidence_add", args=[case.pk]),
        {**item, "credibility": 2, field: days_from_today(2)},
    )
    assert response.status_code == 200
    assert FUTURE in str(response.context["form"].errors[field])
    assert not EvidenceItem.objects.exists()


def test_the_case_form_asks_for_the_precision_first_and_offers_the_year(client, monitor):
    client.force_login(monitor)
    page = client.get(NEW).content.decode()
    assert page.index('name="date_precision"') < page.index('name="incident_start"')
    assert '<option value="year">Year</option>' in page
    assert '<input type="date" name="incident_start"' in page
    assert '<input type="date" name="incident_end"' in page
    assert "any day of that month or year" in page


@pytest.fixture
def known_to_the_year(case_factory):
    return case_factory(
        "submitted",
        title="Shells shipped all year",
        incident_start=date(2024, 5, 5),
        date_precision=DatePrecision.YEAR,
    )


@pytest.fixture
def known_to_the_month(case_factory):
    return case_factory(
        "submitted",
        title="Shells shipped in January",
        incident_start=date(2024, 1, 20),
        date_precision=DatePrecision.MONTH,
    )


def test_the_site_shows_a_year_as_the_year(client, monitor, known_to_the_year):
    client.force_login(monitor)
    listed = client.get(reverse("tracker:case_list")).content.decode()
    page = client.get(known_to_the_year.get_absolute_url()).content.decode()
    assert '<td class="period minor">2024</td>' in listed
    assert "<dd>2024 (year)</dd>" in page
    for html in (listed, page):
        assert "1 January 2024" not in html and "31 December 2024" not in html


def test_the_admin_list_shows_a_month_and_a_year_as_they_are_known(
    client, reviewer, known_to_the_month, known_to_the_year
):
    client.force_login(reviewer)
    html = client.get(CHANGELIST).content.decode()
    assert '<td class="field-incident_date">January 2024</td>' in html
    assert '<td class="field-incident_date">2024</td>' in html
    assert "Jan. 1, 2024" not in html and "1 Jan" not in html and "Dec. 31" not in html


def test_the_admin_case_page_shows_the_date_as_known_to_whoever_reads_it(
    client, reviewer, known_to_the_month, known_to_the_year
):
    client.force_login(reviewer)
    for case, shown in ((known_to_the_month, "January 2024"), (known_to_the_year, "2024")):
        html = client.get(reverse("admin:tracker_case_change", args=[case.pk])).content.decode()
        assert f'<div class="readonly">{shown}</div>' in html
        assert "Jan. 1, 2024" not in html and "Jan. 31, 2024" not in html
        assert "Dec. 31, 2024" not in html


def test_the_admin_case_page_gives_its_editor_the_dates_to_edit(client, admin_user, case_factory):
    case = case_factory(incident_start=date(2024, 1, 20), date_precision=DatePrecision.MONTH)
    client.force_login(admin_user)
    html = client.get(reverse("admin:tracker_case_change", args=[case.pk])).content.decode()
    assert 'name="incident_start" value="01/01/2024"' in html
    assert 'name="incident_end" value="31/01/2024"' in html
    assert '<option value="month" selected>Month</option>' in html


def test_the_csv_export_writes_the_date_as_known(
    client, monitor, known_to_the_month, known_to_the_year
):
    client.force_login(monitor)
    response = client.get(reverse("exchange:case_export", args=["csv"]))
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = csv.DictReader(io.StringIO(content))
    assert {
        row["title"]: (row["incident date"], row["incident start"], row["incident end"])
        for row in rows
    } == {
        "Shells shipped in January": ("January 2024", "2024-01-01", "2024-01-31"),
        "Shells shipped all year": ("2024", "2024-01-01", "2024-12-31"),
    }


def test_the_submission_email_gives_the_date_as_known(case_factory, monitor, reviewer):
    case = case_factory(incident_start=date(2023, 3, 3), date_precision=DatePrecision.YEAR)
    factories.context_for(case)
    transition = workflow.submit(case, monitor)
    context = {"transition": transition, "case": case, "case_url": "http://example.org/"}
    subject, text, html = render_email("case_submitted", context)
    assert ", 2023, Rajin" in text
    assert ", 2023, Rajin" in html


def test_the_migration_makes_month_precision_cases_cover_their_months(case_factory):
    typed_on_a_day = case_factory(incident_start=date(2024, 1, 20), date_precision="month")
    # As a case saved before this release may be: any day, no end.
    Case.objects.filter(pk=typed_on_a_day.pk).update(
        incident_start=date(2024, 1, 20), incident_end=None
    )
    by_the_day = case_factory(incident_start=date(2024, 1, 20))
    migration = importlib.import_module("tracker.migrations.0011_date_precision_year")

    migration.cover_whole_months(apps, schema_editor=None)

    typed_on_a_day.refresh_from_db()
    by_the_day.refresh_from_db()
    assert (typed_on_a_day.incident_start, typed_on_a_day.incident_end) == (
        date(2024, 1, 1),
        date(2024, 1, 31),
    )
    assert (by_the_day.incident_start, by_the_day.incident_end) == (date(2024, 1, 20), None)
