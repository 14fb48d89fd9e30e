"""The case lists show what matters at the widths they are used at: every column of the
site's list at 1280 px, its reference, title and state on a phone (390 px); in the
admin's list the reviewer's columns (assigned reviewer, time in state, independent
sources) at both. "Shown" means inside the viewport and not scrolled out of sight in
the table's box. The demo's cases are the data: its titles, ranges and weapon lists are
as long as real ones."""

import math

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from demo.loader import load_demo
from tests import factories
from tests.browser.test_monitor_journey import PASSWORD, sign_in
from tracker.models import Case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

SITE_COLUMNS = ["reference", "title", "type", "period", "transfer", "weapons", "state", "sources"]
SITE_ON_A_PHONE = ["reference", "title", "state"]
ADMIN_COLUMNS = [
    "reference",
    "title",
    "incident_type",
    "state",
    "incident_date",
    "transfer",
    "assigned_reviewer",
    "time_in_state",
    "independent_sources",
]
ADMIN_ON_A_PHONE = [
    "reference",
    "state",
    "assigned_reviewer",
    "time_in_state",
    "independent_sources",
]

# For each selector, each matching cell: is it rendered, and does it lie wholly inside
# the viewport and inside every box around it that would scroll or clip it?
WHERE_CELLS_ARE = """
(selectors) => Object.fromEntries(selectors.map((selector) => [selector,
  [...document.querySelectorAll(selector)].map((cell) => {
    const box = cell.getBoundingClientRect();
    let shown = box.left >= 0 && box.right <= window.innerWidth + 0.5;
    for (let around = cell.parentElement; around; around = around.parentElement) {
      if (getComputedStyle(around).overflowX === "visible") continue;
      const clip = around.getBoundingClientRect();
      shown = shown && box.left >= clip.left - 0.5 && box.right <= clip.right + 0.5;
    }
    return { rendered: cell.checkVisibility(), inside: shown };
  })]))
"""


@pytest.fixture
def demo(live_server):
    load_demo()
    User = get_user_model()
    for username in ("monitor", "reviewer"):
        user = User.objects.get(username=username)
        user.set_password(PASSWORD)
        user.save()
    return Case.objects.count()


def cells(page, selectors):
    return page.evaluate(WHERE_CELLS_ARE, selectors)


def assert_shown(page, selectors, rows):
    for selector, found in cells(page, selectors).items():
        assert len(found) == rows, f"{selector}: {len(found)} cells for {rows} rows"
        assert all(cell["rendered"] and cell["inside"] for cell in found), (
            f"{selector} is out of sight at {page.viewport_size['width']} px: {found}"
        )


def assert_hidden(page, selectors):
    for selector, found in cells(page, selectors).items():
        assert found and not any(cell["rendered"] for cell in found), selector


def assert_no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


@pytest.mark.parametrize(
    ("viewport", "shown"), [(DESKTOP, SITE_COLUMNS), (PHONE, SITE_ON_A_PHONE)], ids=["1280", "390"]
)
def test_the_case_list_shows_its_columns(
    live_server, browser, demo, artifacts, csp_violations, viewport, shown
):
    page = csp_violations(browser.new_page(viewport=viewport))
    sign_in(page, f"{live_server.url}/cases/", "monitor")
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    page.screenshot(path=artifacts / f"case-list-{viewport['width']}.png", full_page=True)

    assert_shown(page, [f".case-table td.{column}" for column in shown], rows=demo)
    assert_shown(page, [f".case-table th.{column}" for column in shown], rows=1)
    hidden = [column for column in SITE_COLUMNS if column not in shown]
    if hidden:
        assert_hidden(page, [f".case-table td.{column}" for column in hidden])
    assert_no_sideways_scrolling(page)
    assert csp_violations.violations == []


@pytest.mark.parametrize(
    ("viewport", "shown"),
    [(DESKTOP, ADMIN_COLUMNS), (PHONE, ADMIN_ON_A_PHONE)],
    ids=["1280", "390"],
)
def test_the_admin_case_list_shows_the_reviewers_columns(
    live_server, browser, demo, artifacts, csp_violations, viewport, shown
):
    page = csp_violations(browser.new_page(viewport=viewport))
    sign_in(page, f"{live_server.url}/admin/", "reviewer")
    page.goto(f"{live_server.url}/admin/tracker/case/")
    expect(page.get_by_role("heading", name="Select case to view")).to_be_visible()
    page.screenshot(path=artifacts / f"admin-case-list-{viewport['width']}.png", full_page=True)

    # The reference is each row's link: Django renders it as the row's header cell.
    assert_shown(page, [f"#result_list .field-{column}" for column in shown], rows=demo)
    assert_shown(page, [f"#result_list th.column-{column}" for column in shown], rows=1)
    assert_no_sideways_scrolling(page)
    assert csp_violations.violations == []


def test_a_monitor_pages_through_a_long_list_on_a_phone(live_server, browser, demo, csp_violations):
    monitor = get_user_model().objects.get(username="monitor")
    for n in range(60):
        factories.CaseFactory(created_by=monitor, title=f"Logged case {n}")
    total = demo + 60
    pages = math.ceil(total / 25)
    page = csp_violations(browser.new_page(viewport=PHONE))
    sign_in(page, f"{live_server.url}/cases/", "monitor")
    expect(page.locator(".case-count")).to_contain_text(f"{total} cases.")
    pager = page.get_by_role("navigation", name="Pages")
    expect(pager).to_contain_text(f"Page 1 of {pages}")
    assert_no_sideways_scrolling(page)
    seen = []
    while True:
        seen += page.locator(".case-table td.reference").all_inner_texts()
        assert_no_sideways_scrolling(page)
        if not pager.get_by_role("link", name="Next page").count():
            break
        pager.get_by_role("link", name="Next page").click()
    assert len(seen) == len(set(seen)) == total
    expect(pager).to_contain_text(f"Page {pages} of {pages}")
    pager.get_by_role("link", name="Previous page").click()
    expect(pager).to_contain_text(f"Page {pages - 1} of {pages}")
    pager.get_by_role("link", name="1", exact=True).click()
    expect(pager).to_contain_text(f"Page 1 of {pages}")
    assert csp_violations.violations == []


def test_a_monitor_finds_the_cases_of_january_2024_with_the_date_pickers(
    live_server, browser, demo, csp_violations
):
    page = csp_violations(browser.new_page(viewport=DESKTOP))
    sign_in(page, f"{live_server.url}/cases/", "monitor")
    page.get_by_text("Filter and search").click()
    since = page.get_by_label("Incident from")
    until = page.get_by_label("Incident until")
    assert since.get_attribute("type") == until.get_attribute("type") == "date"
    since.fill("2024-01-01")
    until.fill("2024-01-31")
    page.get_by_role("button", name="Show cases").click()

    rows = page.locator(".case-table tbody tr")
    expect(rows.filter(has_text="About 6,700 containers")).to_contain_text(
        "September 2023 – February 2024"
    )
    expect(rows.filter(has_text="Kharkiv")).to_have_count(1)
    expect(rows.filter(has_text="Bryansk")).to_have_count(0)

    # A date the filter cannot read lists nothing, and says so.
    page.goto(f"{live_server.url}/cases/?incident_from=2024-02-30")
    expect(page.get_by_role("alert")).to_contain_text("No case is listed")
    expect(page.get_by_text("“2024-02-30” is not a date.")).to_be_visible()
    expect(rows).to_have_count(0)
    assert csp_violations.violations == []
