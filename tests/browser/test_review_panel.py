"""A reviewer reviews in the admin: the review panel's evidence, a download, a bulk
action's confirmation, the approval and the case's history, with no CSP violation."""

import re

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from evidence.custody import add_evidence
from evidence.models import CustodyAction
from tests import factories
from tests.browser.test_monitor_journey import sign_in
from tracker import roles, workflow
from tracker.models import State

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRIEFING = b"%PDF-1.7\nNIS briefing: 1,500 DPRK soldiers moved to Vladivostok"


@pytest.fixture
def submitted_case(monitor):
    """A submitted case with a briefing on file from a graded source and a denial from
    a source nobody has graded: below the corroboration minimum."""
    case = factories.CaseFactory(
        created_by=monitor, title="Russian naval vessels moved 1,500 DPRK soldiers"
    )
    briefing = add_evidence(
        case,
        monitor,
        upload=ContentFile(BRIEFING),
        original_filename="nis-briefing.pdf",
        source=factories.SourceFactory(name="ROK National Intelligence Service", reliability="B"),
        kind="statement",
        stance="supports",
        credibility=2,
        title="NIS briefing to lawmakers",
    )
    factories.EvidenceItemFactory(
        case=case,
        source=factories.SourceFactory(name="Kremlin spokesman", proposed=True),
        stance="refutes",
        credibility=5,
        title="Peskov: another fake news story",
    )
    workflow.submit(case, monitor)
    return case, briefing


def test_a_reviewer_checks_the_evidence_downloads_it_and_approves_in_the_admin(
    live_server, browser, submitted_case, reviewer, artifacts, csp_violations
):
    case, briefing = submitted_case
    # The reviewer's own case (they log cases too), selected with it: the bulk action
    # must skip it.
    reviewer.groups.add(Group.objects.get(name=roles.MONITOR))
    own = factories.CaseFactory(created_by=reviewer, title="The reviewer's own lead")
    factories.context_for(own)
    workflow.submit(own, reviewer)

    page = csp_violations(browser.new_page(accept_downloads=True))
    sign_in(page, f"{live_server.url}/admin/", "reviewer")
    page.goto(f"{live_server.url}/admin/tracker/case/")

    # Start review on both: the confirmation says which one it will take, and why not
    # the other, before asking for anything.
    for reference in (case.reference, own.reference):
        page.get_by_role("row").filter(has_text=reference).get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option("start_review_selected")
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_role("heading", name="Start review: 1 case")).to_be_visible()
    skipped = page.get_by_role("list").filter(has_text=own.reference)
    expect(skipped).to_contain_text("four-eyes rule")
    page.screenshot(path=artifacts / "admin-bulk-confirmation.png", full_page=True)
    page.get_by_role("button", name="Start review 1 case").click()
    expect(page.get_by_text(f"{case.reference} taken into review.")).to_be_visible()

    page.get_by_role("link", name=case.reference).click()
    panel = page.locator("#review-panel")
    expect(panel.get_by_role("heading", name="Evidence (2)")).to_be_visible()
    rows = panel.get_by_role("row")
    expect(rows.nth(1)).to_contain_text("ROK National Intelligence Service: B – usually reliable")
    expect(rows.nth(1)).to_contain_text("2 – probably true")
    expect(rows.nth(2)).to_contain_text("Kremlin spokesman: not yet graded by a reviewer")
    expect(rows.nth(2)).to_contain_text("5 – improbable")
    panel.screenshot(path=artifacts / "admin-review-panel.png")

    with page.expect_download() as download:
        panel.get_by_role("link", name="nis-briefing.pdf").click()
    assert download.value.suggested_filename == "nis-briefing.pdf"
    assert open(download.value.path(), "rb").read() == BRIEFING
    assert briefing.custody.filter(action=CustodyAction.DOWNLOADED, actor=reviewer).count() == 1

    page.get_by_label("Comment or reason").fill("The NIS briefing is specific and dated.")
    page.get_by_label("Justification for approving below the corroboration minimum").fill(
        "The NIS is a reliable source; the denial is a routine one."
    )
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"{case.reference} approved.")).to_be_visible()
    case.refresh_from_db()
    assert case.state == State.APPROVED

    page.get_by_role("link", name="History").click()
    history = page.locator("#change-history")
    expect(history).to_contain_text(
        "Review: In review → Approved by reviewer, comment: “The NIS briefing is specific"
    )
    expect(history).to_contain_text("Review: Submitted → In review by reviewer")
    expect(history).to_contain_text("Assigned reviewer: nobody → reviewer")
    expect(history).not_to_contain_text(re.compile("Deleted user|None"))
    history.screenshot(path=artifacts / "admin-case-history.png")

    assert csp_violations.violations == []
