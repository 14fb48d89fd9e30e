"""Two reviewers acting on one case at the same moment, on real PostgreSQL
connections: exactly one wins, the other is told, nothing is overwritten."""

import threading

import pytest
from django.db import connection, transaction

from tests import factories
from tracker import workflow
from tracker.models import Case, State

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def run_in_thread(target):
    """Run ``target`` on its own thread, so on its own database connection."""
    outcome = {}

    def body():
        try:
            outcome["result"] = target()
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread, outcome


def test_two_reviewers_at_once_exactly_one_wins(case_factory, reviewer, other_reviewer):
    case = case_factory("in_review", by_reviewer=reviewer)
    factories.corroborate(case)
    barrier = threading.Barrier(2)

    def act(name, user, comment):
        def go():
            barrier.wait()
            return workflow.perform(Case.objects.get(pk=case.pk), name, user, comment)

        return go

    first = run_in_thread(act("approve", reviewer, "Corroborated."))
    second = run_in_thread(act("reject", other_reviewer, "Not substantiated."))
    for thread, _ in (first, second):
        thread.join(timeout=30)

    outcomes = [first[1], second[1]]
    winners = [o["result"] for o in outcomes if "result" in o]
    losers = [o["error"] for o in outcomes if "error" in o]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], workflow.TransitionError)
    assert f"{case.reference} is {State(winners[0].to_state).label.lower()}" in str(losers[0])

    case.refresh_from_db()
    assert case.state == winners[0].to_state
    decisions = case.transitions.filter(from_state=State.IN_REVIEW)
    assert list(decisions.values_list("to_state", flat=True)) == [winners[0].to_state]


def test_the_second_reviewer_waits_for_the_first_and_then_sees_its_decision(
    case_factory, reviewer, other_reviewer
):
    case = case_factory("in_review", by_reviewer=reviewer)
    factories.corroborate(case)
    first_has_lock = threading.Event()
    release_first = threading.Event()

    def approve_and_hold():
        with transaction.atomic():
            record = workflow.approve(Case.objects.get(pk=case.pk), reviewer, "Corroborated.")
            first_has_lock.set()
            release_first.wait(timeout=30)
        return record

    first_thread, first = run_in_thread(approve_and_hold)
    assert first_has_lock.wait(timeout=30), first.get("error")
    second_thread, second = run_in_thread(
        lambda: workflow.reject(Case.objects.get(pk=case.pk), other_reviewer, "Too thin.")
    )

    second_thread.join(timeout=1)
    assert second_thread.is_alive(), "the second reviewer must wait for the row lock"
    release_first.set()
    first_thread.join(timeout=30)
    second_thread.join(timeout=30)

    assert first["result"].to_state == State.APPROVED
    assert isinstance(second["error"], workflow.TransitionError)
    assert "is approved, so it cannot be rejected" in str(second["error"])
    case.refresh_from_db()
    assert case.state == State.APPROVED


def test_an_evidence_edit_waits_for_a_submission_and_is_then_refused(case_factory, monitor):
    """The monitor submits in one tab while saving an evidence edit in another: the
    edit waits for the case's row lock, then finds the case submitted."""
    from django.core.exceptions import PermissionDenied

    from evidence.custody import edit_evidence
    from evidence.models import EvidenceItem

    case = case_factory()
    item = factories.EvidenceItemFactory(case=case, title="Briefing to lawmakers")
    submitting = threading.Event()
    release = threading.Event()

    def submit_and_hold():
        with transaction.atomic():
            record = workflow.submit(Case.objects.get(pk=case.pk), monitor)
            submitting.set()
            release.wait(timeout=30)
        return record

    submit_thread, submitted = run_in_thread(submit_and_hold)
    assert submitting.wait(timeout=30), submitted.get("error")
    # Read before the submission commits: the edit form was loaded while it was a draft.
    stale = EvidenceItem.objects.select_related("case").get(pk=item.pk)
    edit_thread, edited = run_in_thread(
        lambda: edit_evidence(stale, monitor, title="Changed while submitting")
    )
    edit_thread.join(timeout=1)
    assert edit_thread.is_alive(), "the edit must wait for the case's row lock"
    release.set()
    submit_thread.join(timeout=30)
    edit_thread.join(timeout=30)

    assert submitted["result"].to_state == State.SUBMITTED
    assert isinstance(edited["error"], PermissionDenied)
    item.refresh_from_db()
    assert item.title == "Briefing to lawmakers"
    assert not item.custody.filter(action="edited").exists()
