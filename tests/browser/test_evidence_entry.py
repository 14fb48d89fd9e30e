import pytest
from playwright.sync_api import expect

from evidence.models import EvidenceItem
from tests import factories

from .test_monitor_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_file_survives_a_form_error_and_the_item_is_edited_later(
    live_server, browser, case_factory, tmp_path, artifacts, csp_violations
):
    factories.SourceFactory(name="ROK National Intelligence Service")
    case = case_factory()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.7\nNIS briefing to lawmakers, 18 October 2024\n")

    page = csp_violations(browser.new_page())
    sign_in(page, f"{live_server.url}{case.get_absolute_url()}", "monitor")
    page.get_by_role("button", name="Add evidence").click()
    # No title: the form comes back with an error, and the browser forgets the file.
    page.get_by_label("Originating source").select_option(
        label="ROK National Intelligence Service (B)"
    )
    page.get_by_label("Kind").select_option("statement")
    page.get_by_label("Stance").select_option("supports")
    page.get_by_label("File").set_input_files(scan)
    page.get_by_role("button", name="Add evidence").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    expect(page.get_by_text("(kept from your last try) — choose another file")).to_be_visible()
    page.screenshot(path=artifacts / "evidence-form-file-kept.png", full_page=True)

    page.get_by_label("Title").fill("NIS briefing to lawmakers")
    page.get_by_role("button", name="Add evidence").click()
    expect(page.get_by_text(f"Evidence added to {case.reference}.")).to_be_visible()
    expect(page.get_by_role("link", name="scan.pdf")).to_be_visible()

    page.get_by_role("link", name="Edit “NIS briefing to lawmakers”").click()
    expect(page.get_by_text("An item's file is never replaced")).to_be_visible()
    page.get_by_label("Originating source").select_option("")
    page.get_by_label("Name of the new source").fill("38 North")
    page.get_by_label("Type of source").select_option("research_group")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("“NIS briefing to lawmakers” saved.")).to_be_visible()
    expect(page.get_by_text("38 North (proposed, not yet graded by a reviewer)")).to_be_visible()

    item = EvidenceItem.objects.get()
    assert [e.action for e in item.custody.all()] == ["collected", "uploaded", "edited"]
    assert csp_violations.violations == []
