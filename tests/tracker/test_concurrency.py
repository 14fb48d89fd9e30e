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
