"""The API's pages in a browser: a monitor makes a token (shown once) under Account,
then reads the interactive API docs, Swagger UI from the vendored files, and calls an
operation from them with the session, all under the site's strict CSP."""

import re

import pytest
from playwright.sync_api import expect

from api.models import ApiToken
from tracker.models import WeaponSystem

from .test_monitor_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_monitor_makes_a_token_and_tries_the_api_in_its_docs(
    live_server, browser, monitor, artifacts, csp_violations
):
    WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24)")
    page = csp_violations(browser.new_page())
    sign_in(page, f"{live_server.url}/", "monitor")

    page.get_by_role("link", name="Account").click()
    page.get_by_role("link", name="Your API tokens").click()
    page.get_by_label("Name").fill("collection script")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Make the token").click()
    secret = page.get_by_role("textbox", name="Token", exact=True).input_value()
    assert re.fullmatch(r"trk_[0-9a-f]{12}_[\w-]{43}", secret)
    expect(page.get_by_text("shown only this once")).to_be_visible()
    page.screenshot(path=artifacts / "api-token-made.png", full_page=True)
    assert ApiToken.objects.get().user == monitor
    page.reload()  # neither makes another token nor shows this one again
    assert ApiToken.objects.count() == 1
    expect(page.get_by_role("textbox", name="Token", exact=True)).to_have_count(0)

    page.goto(f"{live_server.url}/api/v1/docs/")
    operation = page.locator("#operations-weapon-systems-weapon_systems_list")
    expect(operation).to_be_visible(timeout=20_000)
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    answer = operation.locator(".live-responses-table tbody td.response-col_status").first
    expect(answer).to_have_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text("Hwasong-11")
    page.screenshot(path=artifacts / "api-docs.png", full_page=True)
    assert csp_violations.violations == []
