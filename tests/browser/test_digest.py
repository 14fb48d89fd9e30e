"""The weekly digest in a browser: the mail actually sent, read on a phone; its case
link opened by a subscriber who has no account; the unsubscribe page; the staff
preview. None of them may break the Content Security Policy or spill sideways."""

import re

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from digests import weekly
from digests.models import CaseLinkView, Subscription
from tests import factories
from tests.conftest import this_week_end
from tracker import workflow

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}
LONG_TITLE = (
    "Debris of a missile that hit Kharkiv derives from a DPRK Hwasong-11 series ballistic "
    "missile, UN sanctions monitors told the Security Council"
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def spilling(page):
    """The elements that reach past the right edge of the screen, and the page's width
    if it scrolls sideways."""
    return page.evaluate(
        """() => {
            const width = window.innerWidth;
            const wide = [...document.body.querySelectorAll('*')]
                .filter(e => e.getBoundingClientRect().right > width + 0.5)
                .map(e => `${e.tagName}.${e.className}: ${e.getBoundingClientRect().right}`);
            if (document.documentElement.scrollWidth > width)
                wide.push(`page: ${document.documentElement.scrollWidth}`);
            return wide;
        }"""
    )


@pytest.fixture
def digest_cases(case_factory, reviewer):
    """This week's approvals: one corroborated, one approved below the minimum."""
    case_factory("approved", by_reviewer=reviewer, title="Shells by rail to Tikhoretsk")
    below = case_factory(
        "in_review",
        by_reviewer=reviewer,
        title=LONG_TITLE,
        summary="Debris of a rocket that hit Kharkiv derives from a Hwasong-11. " * 10,
        place_name="Kharkiv",
        country="UA",
    )
    workflow.approve(below, reviewer, justification="The UN monitors' finding stands alone.")
    return below


def test_a_subscriber_reads_the_sent_digest_on_a_phone_and_opens_a_case_without_an_account(
    live_server, browser, mailbox, settings, digest_cases, csp_violations, artifacts
):
    # The links in the mail lead to this test's server.
    settings.SITE_URL = live_server.url
    subscription = Subscription.objects.create(email="committee@example.org")
    weekly.deliver_digest(subscription, this_week_end())
    [message] = mailbox.wait_for(1, subject="Weekly digest")
    html = message.get_body(("html",)).get_content()

    # A browser context of its own: no cookie, no session, as in a subscriber's mail
    # client. Each reading of the mail is a new page (about:blank, outside the site).
    mail_client = browser.new_context(viewport=PHONE)

    def read_mail():
        page = csp_violations(mail_client.new_page())
        page.set_content(html)
        return page

    page = read_mail()
    page.screenshot(path=artifacts / "digest-email-phone.png", full_page=True)
    assert spilling(page) == []
    expect(page.get_by_text("Approved below the corroboration minimum")).to_be_visible()

    page.get_by_role("link", name=LONG_TITLE).click()

    expect(page.get_by_role("heading", name=re.compile("Debris of a missile"))).to_be_visible()
    expect(page.get_by_text("The UN monitors' finding stands alone.")).to_be_visible()
    page.screenshot(path=artifacts / "digest-case-link-phone.png", full_page=True)
    assert spilling(page) == []
    assert CaseLinkView.objects.get().case == digest_cases

    page = read_mail()
    page.get_by_role("link", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="Unsubscribe from the weekly digest?")).to_be_visible()
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()

    page = read_mail()
    page.get_by_role("link", name=LONG_TITLE).click()
    expect(page.get_by_role("heading", name="This case is no longer available")).to_be_visible()
    assert csp_violations.violations == []


def test_staff_preview_the_digest_styled_under_the_csp(
    live_server, browser, digest_cases, csp_violations, artifacts
):
    viewer = factories.UserFactory(username="desk-officer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    subscription = Subscription.objects.create(email="committee@example.org", countries=["UA"])

    page = csp_violations(browser.new_page(viewport=PHONE))
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("desk-officer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile("login"))
    page.goto(f"{live_server.url}/digests/preview/{subscription.pk}/?period_end={this_week_end()}")

    expect(page.get_by_role("link", name=LONG_TITLE)).to_be_visible()
    expect(page.get_by_text("Countries: Ukraine")).to_be_visible()
    # The email's own CSS applies: the counts sit on their tinted background.
    count = page.locator(".count").first
    assert count.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(238, 242, 246)"
    page.screenshot(path=artifacts / "digest-preview-phone.png", full_page=True)
    assert spilling(page) == []
    assert csp_violations.violations == []
