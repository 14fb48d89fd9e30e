import re
from datetime import date

import pytest
from playwright.sync_api import expect

from digests.models import Subscription
from tests import factories
from tests.browser.test_monitor_journey import sign_in
from tracker import workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def choose_by_filtering(page, typed, country):
    """Type into the countries' filter until ``country`` is the one shown, tick it."""
    page.get_by_label("Filter the countries").fill(typed)
    shown = page.locator(".filtered-checkboxes-options label:visible")
    expect(shown).to_have_count(1)
    expect(shown).to_have_text(country)
    page.get_by_label(country, exact=True).check()


def test_a_stakeholder_reads_approved_cases_and_subscribes_to_two_countries(
    live_server, browser, case_factory, stakeholder, artifacts, csp_violations
):
    approved = case_factory(
        "approved",
        title="Hwasong-11 debris in Kharkiv",
        country="UA",
        incident_start=date(2024, 1, 2),
    )
    below_minimum = case_factory(
        "in_review",
        title="Rail shipment through Tumangang",
        by_reviewer=factories.reviewer("reviewer-alice-smith"),
        incident_start=date(2024, 3, 5),
    )
    workflow.approve(
        below_minimum,
        factories.reviewer("reviewer-alice-smith"),
        "Internal note for the team.",
        justification="Satellite imagery shows the wagons at the border.",
    )
    case_factory("submitted", title="Unconfirmed depot strike")

    page = csp_violations(browser.new_page())
    sign_in(page, f"{live_server.url}/", "stakeholder")
    expect(page.get_by_role("heading", name="Recently approved")).to_be_visible()
    expect(page.get_by_role("link", name=approved.reference)).to_be_visible()
    expect(page.get_by_text("Unconfirmed depot strike")).to_have_count(0)
    expect(page.get_by_text("Waiting for me")).to_have_count(0)
    expect(page.locator("svg .chart-title")).to_have_text(
        "Approved cases per month of the incident, Jan 2024 – Mar 2024"
    )
    page.screenshot(path=artifacts / "stakeholder-dashboard.png", full_page=True)

    page.get_by_role("link", name=below_minimum.reference).click()
    decision = page.get_by_role("region", name="Decision")
    expect(decision).to_contain_text("Approved on")
    expect(decision).to_contain_text("below the corroboration minimum")
    expect(decision).to_contain_text("Satellite imagery shows the wagons at the border.")
    expect(page.get_by_text("Internal note for the team.")).to_have_count(0)
    expect(page.get_by_text("reviewer-alice-smith")).to_have_count(0)
    expect(page.get_by_role("heading", name="Review timeline")).to_have_count(0)
    page.screenshot(path=artifacts / "stakeholder-case-page.png", full_page=True)

    page.get_by_role("link", name="Dashboard", exact=True).click()
    page.get_by_role("button", name="Subscribe to the weekly digest").click()
    expect(page.get_by_role("heading", name="Your weekly digest")).to_be_visible()
    chosen = page.locator(".filtered-checkboxes-chosen")
    expect(chosen).to_contain_text("every country")
    choose_by_filtering(page, "ukr", "Ukraine")
    choose_by_filtering(page, "POLA", "Poland")
    expect(chosen.get_by_role("listitem")).to_have_text(["Poland", "Ukraine"])
    page.get_by_label("Filter the countries").fill("")
    expect(page.locator(".filtered-checkboxes-options label:visible")).to_have_count(
        page.locator(".filtered-checkboxes-options label").count()
    )
    page.screenshot(path=artifacts / "stakeholder-subscription.png", full_page=True)
    page.get_by_role("button", name="Subscribe").click()

    expect(
        page.get_by_text(f"Subscribed: the weekly digest goes to {stakeholder.email}.")
    ).to_be_visible()
    expect(chosen.get_by_role("listitem")).to_have_text(["Poland", "Ukraine"])
    subscription = Subscription.objects.get(email=stakeholder.email)
    assert sorted(country.code for country in subscription.countries) == ["PL", "UA"]

    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(
        page.get_by_role("heading", name="Recently approved within your subscription")
    ).to_be_visible()
    expect(page.get_by_role("link", name=approved.reference)).to_be_visible()
    expect(page.get_by_role("link", name=below_minimum.reference)).to_have_count(
        0
    )  # in North Korea
    expect(page.get_by_role("link", name="Change your subscription")).to_be_visible()
    assert csp_violations.violations == []


def test_administrators_choose_countries_the_same_way_in_the_admin(
    live_server, browser, admin_user, csp_violations
):
    page = csp_violations(browser.new_page())
    page.goto(f"{live_server.url}/admin/digests/subscription/add/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Email").fill("committee@example.org")
    choose_by_filtering(page, "russ", "Russia")
    page.get_by_label("Filter the countries").fill("korea")
    page.get_by_label("North Korea", exact=True).check()
    expect(page.locator(".filtered-checkboxes-chosen li")).to_have_text(["North Korea", "Russia"])
    page.get_by_role("button", name=re.compile("^Save$")).click()
    expect(page.get_by_text("was added successfully")).to_be_visible()
    subscription = Subscription.objects.get()
    assert sorted(country.code for country in subscription.countries) == ["KP", "RU"]
    assert csp_violations.violations == []
