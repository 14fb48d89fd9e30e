import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.accounts.conftest import PASSWORD, code_for_secret

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_enrols_with_the_qr_code_and_then_signs_in_with_a_code(
    live_server, browser, reviewer, settings, artifacts, csp_violations, time_machine
):
    settings.REQUIRE_2FA = True
    page = csp_violations(browser.new_page())
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    qr_code = page.get_by_alt_text(re.compile("QR code"))
    expect(qr_code).to_be_visible()
    assert qr_code.evaluate("img => img.naturalWidth") > 0  # drawn, not blocked by the CSP
    page.screenshot(path=artifacts / "two-factor-setup.png", full_page=True)
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("Code from the app").fill(code_for_secret(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    assert page.locator(".recovery-codes li").count() == 10

    page.get_by_role("button", name=re.compile("Sign out")).click()
    # The next code: the app shows a new one every 30 seconds, and each is used once.
    time_machine.move_to(datetime.now(UTC) + timedelta(seconds=30))
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(code_for_secret(secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Cases, evidence and review")).to_be_visible()
    assert csp_violations.violations == []
