import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tracker.models import Case

PASSWORD = "correct horse battery staple"

# The live server reads what the test writes, so the test's writes are committed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, url, username):
    page.goto(url)
    # By keyboard only: the form must work without a mouse.
    page.get_by_label("Username").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(re.compile("login"))


def test_a_monitor_logs_a_case_with_evidence_and_a_reviewer_approves_it(
    live_server, browser, monitor, reviewer, tmp_path, artifacts, csp_violations
):
    factories.SourceFactory(name="ROK National Intelligence Service")
    statement = tmp_path / "nis-briefing.txt"
    statement.write_text("Russian naval vessels moved 1,500 DPRK soldiers to Vladivostok.\n")

    page = csp_violations(browser.new_page())
    sign_in(page, f"{live_server.url}/", "monitor")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("link", name="New case").click()
    page.get_by_label("Title").fill("Russian naval vessels moved 1,500 DPRK soldiers")
    page.get_by_label("Summary").fill("Soldiers shipped from the DPRK to Vladivostok.")
    page.get_by_label("Incident type").select_option("personnel_deployment")
    page.get_by_label("Incident date").fill("2024-10-08")
    page.get_by_label("Incident end date").fill("2024-10-13")
    page.get_by_label("Place name").fill("Vladivostok")
    page.get_by_label("Country:", exact=True).select_option("RU")
    page.get_by_label("Supplier country").select_option("KP")
    page.get_by_label("Recipient country").select_option("RU")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_text("saved as a draft")).to_be_visible()
    case = Case.objects.get()

    page.get_by_role("button", name="Add evidence").click()
    page.get_by_label("Title").fill("NIS briefing to lawmakers")
    page.get_by_label("Originating source").select_option(
        label="ROK National Intelligence Service (B)"
    )
    page.get_by_label("Kind").select_option("statement")
    page.get_by_label("Stance").select_option("supports")
    page.get_by_label("File").set_input_files(statement)
    page.get_by_role("button", name="Add evidence").click()
    expect(page.get_by_text(f"Evidence added to {case.reference}.")).to_be_visible()
    expect(page.get_by_role("link", name="nis-briefing.txt")).to_be_visible()

    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text(f"{case.reference} submitted.")).to_be_visible()

    review = csp_violations(browser.new_page())
    sign_in(review, f"{live_server.url}/admin/", "reviewer")
    review.goto(f"{live_server.url}/admin/tracker/case/")
    review.screenshot(path=artifacts / "admin-case-list.png", full_page=True)
    review.get_by_role("link", name=case.reference).click()
    review.get_by_role("button", name="Start review").click()
    expect(review.get_by_text("taken into review")).to_be_visible()
    justification = review.locator("textarea[name=justification]")
    if justification.count():
        justification.fill("The NIS is a reliable source; a second one is expected soon.")
    review.get_by_label("Comment or reason").fill("Consistent with other reporting.")
    review.get_by_role("button", name="Approve").click()
    expect(review.get_by_text(f"{case.reference} approved.")).to_be_visible()

    page.get_by_role("link", name="Cases", exact=True).click()
    row = page.get_by_role("row").filter(has_text=case.reference)
    expect(row).to_contain_text("Approved")
    page.screenshot(path=artifacts / "monitor-case-list-approved.png", full_page=True)

    page.get_by_role("link", name=case.reference).click()
    expect(page.get_by_text("Consistent with other reporting.")).to_be_visible()
    assert csp_violations.violations == []


def test_the_case_list_fits_a_phone_screen(live_server, browser, case_factory, artifacts):
    for _ in range(5):
        case_factory("submitted")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(page, f"{live_server.url}/cases/", "monitor")
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    page.screenshot(path=artifacts / "case-list-phone.png", full_page=True)
    # Wide tables scroll inside their box; the page itself must not scroll sideways.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
