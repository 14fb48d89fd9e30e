"""Two people acting on one case at the same moment, on real PostgreSQL connections:
two reviewers, exactly one wins and the other is told; an edit saved as the case is
submitted is refused. Nothing is overwritten."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests import factories
from tests.concurrency import at_once, held_open
from tracker import workflow
from tracker.models import Case, State

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_reviewers_at_once_exactly_one_wins(case_factory, reviewer, other_reviewer):
    case = case_factory("in_review", by_reviewer=reviewer)
    factories.corroborate(case)

    def act(name, user, comment):
        return lambda: workflow.perform(Case.objects.get(pk=case.pk), name, user, comment)

    outcomes = at_once(
        act("approve", reviewer, "Corroborated."),
        act("reject", other_reviewer, "Not substantiated."),
    )

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

    first, second = held_open(
        lambda: workflow.approve(Case.objects.get(pk=case.pk), reviewer, "Corroborated."),
        lambda: workflow.reject(Case.objects.get(pk=case.pk), other_reviewer, "Too thin."),
    )

    assert first["result"].to_state == State.APPROVED
    assert isinstance(second["error"], workflow.TransitionError)
    assert "is approved, so it cannot be rejected" in str(second["error"])
    case.refresh_from_db()
    assert case.state == State.APPROVED


def while_submitting(case, monitor, act):
    """Submit ``case`` in a transaction held open while ``act`` runs on another
    connection, which must wait for the case's row lock; then let both finish. What
    ``act`` returned or raised."""
    submitted, outcome = held_open(
        lambda: workflow.submit(Case.objects.get(pk=case.pk), monitor), act
    )
    assert submitted["result"].to_state == State.SUBMITTED
    return outcome


def test_an_evidence_edit_waits_for_a_submission_and_is_then_refused(case_factory, monitor):
    """The monitor submits in one tab while saving an evidence edit in another: the
    edit waits for the case's row lock, then finds the case submitted."""
    from django.core.exceptions import PermissionDenied

    from evidence.custody import edit_evidence
    from evidence.models import EvidenceItem

    case = case_factory()
    item = factories.EvidenceItemFactory(case=case, title="Briefing to lawmakers")
    # Read before the submission commits: the edit form was loaded while it was a draft.
    stale = EvidenceItem.objects.select_related("case").get(pk=item.pk)

    edited = while_submitting(
        case, monitor, lambda: edit_evidence(stale, monitor, title="Changed while submitting")
    )

    assert isinstance(edited["error"], PermissionDenied)
    item.refresh_from_db()
    assert item.title == "Briefing to lawmakers"
    assert not item.custody.filter(action="edited").exists()


def edit_on_the_case_page(case, monitor):
    client = Client()
    client.force_login(monitor)
    form = factories.case_form(case, title="Changed while submitting", save_anyway="1")
    return client.post(reverse("tracker:case_edit", args=[case.pk]), form).status_code


def edit_in_the_admin(case, monitor):
    """The case's page in the admin, its evidence changed inline."""
    item = case.evidence.get()
    client = Client()
    client.force_login(monitor)
    form = factories.case_form(case, title="Changed while submitting")
    form.update(
        {
            "evidence-TOTAL_FORMS": "1",
            "evidence-INITIAL_FORMS": "1",
            "evidence-0-id": str(item.pk),
            "evidence-0-case": str(case.pk),
            "evidence-0-source": str(item.source_id),
            "evidence-0-kind": item.kind,
            "evidence-0-stance": "refutes",
            "evidence-0-credibility": str(item.credibility),
            "evidence-0-title": "Changed while submitting",
            "transitions-TOTAL_FORMS": "0",
            "transitions-INITIAL_FORMS": "0",
        }
    )
    return client.post(reverse("admin:tracker_case_change", args=[case.pk]), form).status_code


def edit_through_the_api(case, monitor):
    client = APIClient()
    client.force_authenticate(monitor)
    body = {"title": "Changed while submitting"}
    return client.patch(f"/api/v1/cases/{case.reference}/", body, format="json").status_code


@pytest.mark.parametrize("edit", [edit_on_the_case_page, edit_in_the_admin, edit_through_the_api])
def test_a_case_edit_waits_for_a_submission_and_is_then_refused(case_factory, monitor, edit):
    """The monitor submits in one tab while saving the case's edit form in another (on
    the site, in the admin with its evidence, or through the API): the edit, checked
    while the case was a draft, waits for the case's row lock, then finds it submitted."""
    case = case_factory()
    item = factories.context_for(case)
    before = (case.title, item.title)

    edited = while_submitting(case, monitor, lambda: edit(case, monitor))

    assert edited["result"] == 403
    case.refresh_from_db()
    item.refresh_from_db()
    assert case.state == State.SUBMITTED
    assert (case.title, item.title, item.stance) == (*before, "context")
    assert not item.custody.filter(action="edited").exists()


def test_an_import_waits_for_a_submission_and_then_changes_nothing(case_factory, monitor):
    """A monitor's confirmed import changes a draft of theirs while they submit it: the
    import waits for the case's row lock, then finds the case submitted and fails,
    changing nothing."""
    from exchange import imports
    from exchange.models import Status
    from tests.exchange.import_files import csv_bytes, reference_data, row, run_import

    reference_data()
    case = case_factory()
    factories.context_for(case)
    title = case.title
    changed = row(reference=case.reference, title="Changed while submitting")
    job = run_import(monitor, csv_bytes([changed]), confirm=False)
    assert job.may_confirm and imports.confirm(job, monitor)

    imported = while_submitting(case, monitor, lambda: imports.apply(job.pk))

    assert "error" not in imported, imported
    job.refresh_from_db()
    assert (job.status, job.errors) == (Status.FAILED, 1)
    case.refresh_from_db()
    assert (case.state, case.title) == (State.SUBMITTED, title)
