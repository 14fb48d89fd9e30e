import pytest
from django.urls import reverse

from tests import factories
from tracker import workflow
from tracker.models import State


def test_approval_below_the_minimum_is_stopped_with_a_clear_message(case_factory, reviewer):
    case = case_factory("in_review")
    factories.corroborate(case, sources=1)
    with pytest.raises(workflow.TransitionError) as error:
        workflow.approve(case, reviewer)
    assert str(error.value) == (
        f"{case.reference} has 1 independent supporting source(s); approval needs 2. "
        "To approve it anyway, write a justification: it is recorded with the decision."
    )
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


def test_a_written_justification_is_recorded_with_the_approval(case_factory, reviewer):
    case = case_factory("in_review")
    record = workflow.approve(
        case, reviewer, justification="UN monitors inspected the debris themselves."
    )
    assert record.justification == "UN monitors inspected the debris themselves."
    case.refresh_from_db()
    assert case.state == State.APPROVED


def test_the_minimum_is_a_setting(case_factory, reviewer, settings):
    settings.CORROBORATION_MIN = 3
    case = case_factory("in_review")
    factories.corroborate(case, sources=2)
    with pytest.raises(workflow.TransitionError, match="approval needs 3"):
        workflow.approve(case, reviewer)
    factories.corroborate(case, sources=1)
    workflow.approve(case, reviewer)


def test_the_admin_shows_corroboration_and_asks_for_a_justification(client, case_factory, reviewer):
    case = case_factory("in_review")
    client.force_login(reviewer)
    page = client.get(reverse("admin:tracker_case_change", args=[case.pk])).content.decode()
    assert "0 independent supporting sources (minimum 2), 0 refuting" in page
    assert 'name="justification"' in page

    url = reverse("admin:tracker_case_transition", args=[case.pk, "approve"])
    response = client.post(url, {"comment": "Looks right"})
    assert "approval needs 2" in response.content.decode()
    assert "Looks right" in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW

    client.post(url, {"comment": "Looks right", "justification": "Forensic finding by UN."})
    case.refresh_from_db()
    assert case.state == State.APPROVED
    assert case.transitions.last().justification == "Forensic finding by UN."


def test_the_changelist_shows_independent_sources(client, case_factory, reviewer):
    case = case_factory("submitted")
    factories.corroborate(case, sources=2)
    client.force_login(reviewer)
    page = client.get(reverse("admin:tracker_case_changelist")).content.decode()
    assert "Independent sources" in page
    assert "2 supporting" in page
