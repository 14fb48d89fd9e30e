import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests import factories
from tracker import roles, workflow
from tracker.models import State, Transition

ALL_STATES = [state.value for state in State]
# Which user takes each action in the allowed-transition matrix.
ACTORS = {
    "submit": "creator",
    "withdraw": "creator",
    "start_review": "reviewer",
    "request_changes": "reviewer",
    "approve": "reviewer",
    "reject": "reviewer",
    "mark_duplicate": "reviewer",
    "reopen": "admin",
}
MATRIX = [
    (name, state, state in action.sources)
    for name, action in workflow.ACTIONS.items()
    for state in ALL_STATES
]


@pytest.fixture
def actors(monitor, reviewer, admin_user):
    return {"creator": monitor, "reviewer": reviewer, "admin": admin_user}


@pytest.mark.parametrize(("name", "state", "allowed"), MATRIX)
def test_every_transition_is_allowed_only_from_its_source_states(
    case_factory, actors, name, state, allowed
):
    case = case_factory(state)
    history = list(case.transitions.values_list("pk", flat=True))
    action = workflow.ACTIONS[name]

    # Marking a case as a duplicate says of which case.
    extra = {"duplicate_of": case_factory("submitted")} if name == "mark_duplicate" else {}
    if allowed:
        factories.corroborate(case)
        record = workflow.perform(case, name, actors[ACTORS[name]], "A reason.", **extra)
        case.refresh_from_db()
        assert case.state == action.target
        assert (record.from_state, record.to_state, record.actor) == (
            state,
            action.target,
            actors[ACTORS[name]],
        )
        assert record.comment.endswith("A reason.")
    else:
        with pytest.raises(workflow.TransitionError) as error:
            workflow.perform(case, name, actors[ACTORS[name]], "A reason.", **extra)
        assert case.reference in str(error.value)
        assert action.past_tense in str(error.value)
        case.refresh_from_db()
        assert case.state == state
        assert list(case.transitions.values_list("pk", flat=True)) == history


def test_a_full_review_is_on_record_step_by_step(case_factory, monitor, reviewer):
    case = case_factory("draft")
    factories.context_for(case)
    workflow.submit(case, monitor, "Two sources attached.")
    workflow.start_review(case, reviewer)
    workflow.request_changes(case, reviewer, "Add the NIS briefing.")
    workflow.submit(case, monitor, "Added.")
    workflow.start_review(case, reviewer)
    factories.corroborate(case)
    workflow.approve(case, reviewer, "Corroborated.")

    steps = list(
        case.transitions.values_list("actor__username", "from_state", "to_state", "comment")
    )
    assert steps == [
        ("monitor", "draft", "submitted", "Two sources attached."),
        ("reviewer", "submitted", "in_review", ""),
        ("reviewer", "in_review", "changes_requested", "Add the NIS briefing."),
        ("monitor", "changes_requested", "submitted", "Added."),
        ("reviewer", "submitted", "in_review", ""),
        ("reviewer", "in_review", "approved", "Corroborated."),
    ]
    case.refresh_from_db()
    assert case.state == State.APPROVED
    assert case.state_changed_at == case.transitions.last().at


def test_starting_a_review_assigns_the_reviewer(case_factory, reviewer):
    case = case_factory("submitted")
    workflow.start_review(case, reviewer)
    case.refresh_from_db()
    assert case.assigned_reviewer == reviewer


@pytest.mark.parametrize("name", ["reject", "request_changes", "reopen"])
@pytest.mark.parametrize("reason", ["", "   \n "])
def test_rejecting_requesting_changes_and_reopening_need_a_reason(
    case_factory, actors, name, reason
):
    state = "rejected" if name == "reopen" else "in_review"
    case = case_factory(state)
    with pytest.raises(workflow.TransitionError, match="Give a reason"):
        workflow.perform(case, name, actors[ACTORS[name]], reason)
    case.refresh_from_db()
    assert case.state == state


def test_the_creator_cannot_approve_their_own_case(case_factory):
    # A reviewer who also logs cases: the four-eyes rule still applies.
    author = factories.reviewer("reviewer-author")
    author.groups.add(factories.monitor().groups.get())
    case = case_factory("submitted", created_by=author)
    workflow.start_review(case, factories.reviewer("reviewer-b"))

    with pytest.raises(workflow.TransitionForbidden, match="four-eyes"):
        workflow.approve(case, author)
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


def test_the_four_eyes_rule_binds_administrators_too(case_factory, admin_user, reviewer):
    case = case_factory("submitted", created_by=admin_user)
    workflow.start_review(case, reviewer)
    with pytest.raises(workflow.TransitionForbidden, match="four-eyes"):
        workflow.approve(case, admin_user)


@pytest.mark.parametrize("name", ["start_review", "approve", "reject", "request_changes"])
def test_monitors_and_stakeholders_cannot_review(case_factory, other_monitor, stakeholder, name):
    case = case_factory("submitted" if name == "start_review" else "in_review")
    for user in (other_monitor, stakeholder):
        with pytest.raises(workflow.TransitionForbidden, match="Only reviewers"):
            workflow.perform(case, name, user, "Looks fine to me.")


@pytest.mark.parametrize("name", ["submit", "withdraw"])
def test_only_the_creator_submits_or_withdraws(case_factory, other_monitor, reviewer, name):
    case = case_factory("draft")
    for user in (other_monitor, reviewer):
        with pytest.raises(workflow.TransitionForbidden, match="Only the monitor who created"):
            workflow.perform(case, name, user)


@pytest.mark.parametrize(("name", "state"), [("submit", "draft"), ("withdraw", "submitted")])
def test_a_creator_who_is_no_longer_a_monitor_cannot_submit_or_withdraw(
    client, case_factory, monitor, name, state
):
    # Moved from logging cases to reviewing them: their old cases are no longer theirs
    # to move, as they are no longer theirs to edit.
    case = case_factory(state)
    factories.context_for(case)
    monitor.groups.set([Group.objects.get(name=roles.REVIEWER)])
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:case_transition", args=[case.pk, name]), {"confirmed": "1"}
    )
    assert response.status_code == 403
    assert "Only monitors" in response.content.decode()
    case.refresh_from_db()
    assert case.state == state
    assert not case.transitions.filter(action=name).exists()
    as_now = type(monitor).objects.get(pk=monitor.pk)  # permissions read afresh
    assert name not in [action.name for action in workflow.available_actions(case, as_now)]


def test_only_administrators_reopen(case_factory, monitor, reviewer, admin_user):
    case = case_factory("rejected")
    for user in (monitor, reviewer):
        with pytest.raises(workflow.TransitionForbidden, match="Only administrators"):
            workflow.reopen(case, user, "New evidence.")
    workflow.reopen(case, admin_user, "New satellite imagery came in.")
    case.refresh_from_db()
    assert case.state == State.DRAFT


def test_inactive_users_cannot_act(case_factory, reviewer):
    case = case_factory("submitted")
    reviewer.is_active = False
    reviewer.save()
    with pytest.raises(workflow.TransitionForbidden, match="inactive"):
        workflow.start_review(case, reviewer)


def test_an_unknown_action_is_a_clear_error(case_factory, monitor):
    with pytest.raises(workflow.TransitionError, match="no workflow action called 'publish'"):
        workflow.perform(case_factory(), "publish", monitor)


def test_acting_on_a_case_someone_else_just_closed_says_who_did_it(
    case_factory, reviewer, other_reviewer
):
    case = case_factory("in_review", by_reviewer=reviewer)
    stale_copy = type(case).objects.get(pk=case.pk)
    factories.corroborate(case)
    workflow.approve(case, reviewer)

    with pytest.raises(workflow.TransitionError) as error:
        workflow.reject(stale_copy, other_reviewer, "Not convinced.")
    assert "is approved, so it cannot be rejected" in str(error.value)
    assert "approved by reviewer" in str(error.value)
    assert Transition.objects.filter(case=case, to_state="rejected").count() == 0


def test_saving_a_stale_copy_does_not_undo_a_transition(case_factory, reviewer):
    # An edit form loaded before the approval must not write the old state back.
    case = case_factory("in_review", by_reviewer=reviewer)
    stale_copy = type(case).objects.get(pk=case.pk)
    factories.corroborate(case)
    workflow.approve(case, reviewer)

    stale_copy.reported_quantity = "about 7,000 containers"
    stale_copy.save()

    case.refresh_from_db()
    assert case.state == State.APPROVED
    assert case.reported_quantity == "about 7,000 containers"


def test_available_actions_follow_role_and_state(case_factory, monitor, reviewer, stakeholder):
    case = case_factory("submitted")
    names = lambda user: [a.name for a in workflow.available_actions(case, user)]  # noqa: E731
    assert names(monitor) == ["withdraw"]
    assert names(reviewer) == ["start_review", "mark_duplicate"]
    assert names(stakeholder) == []


def test_a_case_without_evidence_cannot_be_submitted(client, case_factory, monitor):
    case = case_factory("draft")
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:case_transition", args=[case.pk, "submit"]), follow=True
    )
    case.refresh_from_db()
    assert case.state == "draft"
    assert f"{case.reference} has no evidence yet: add at least 1" in response.content.decode()

    factories.context_for(case)
    workflow.submit(case, monitor)
    assert case.state == "submitted"


def test_the_evidence_needed_to_submit_is_a_setting(case_factory, monitor, settings):
    settings.SUBMIT_MIN_EVIDENCE = 2
    case = case_factory("draft")
    factories.context_for(case)
    with pytest.raises(workflow.TransitionError, match="has only 1 evidence item"):
        workflow.submit(case, monitor)
