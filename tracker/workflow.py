"""The review workflow: the only code that changes a case's state.

Admin buttons and bulk actions, pages, the API and tasks all call ``perform`` (or one
of the named shortcuts below). Each transition locks the case row, checks who may act
and whether the case is in a state the action applies to, writes the new state and a
``Transition`` row in one database transaction.

    draft ──submit──▶ submitted ──start review──▶ in review ──approve──▶ approved
      ▲                                              │  │
      └──────────── changes requested ◀──request─────┘  └──reject──▶ rejected
    any open state ──withdraw──▶ withdrawn;  closed ──reopen (administrators)──▶ draft
    submitted, in review, changes requested ──mark duplicate (reviewers)──▶ withdrawn
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from evidence.corroboration import summarize

from .models import OPEN_STATES, WAITING_STATES, Case, State, Transition

# Sent with ``transition=`` inside the transition's database transaction, whenever a
# case changes state. The workflow's only way out to other work: tracker.tasks turns
# it into mail once the transition is committed.
case_moved = Signal()


class TransitionError(Exception):
    """The transition cannot happen now; the message tells the user why."""


class TransitionForbidden(TransitionError):
    """This user may never make this transition on this case."""


NOT_A_REVIEWER, OWN_CASE = "not a reviewer", "own case"


def review_obstacle(user, case):
    """Why ``user`` may not review ``case``: NOT_A_REVIEWER, OWN_CASE (the four-eyes
    rule), or None. The review actions and the admin's assignment word it each."""
    if not user.has_perm("tracker.review_case"):
        return NOT_A_REVIEWER
    if case.created_by_id == user.pk:
        return OWN_CASE
    return None


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    past_tense: str
    sources: tuple[State, ...]
    target: State
    reason_required: bool = False
    review: bool = False  # needs the reviewer permission and the four-eyes rule
    # What a refusal says the action does, when "<label> a case" does not read.
    doing: str = ""

    def refusal(self, user, case):
        """Why this user may not take this action on this case, or None."""
        if not user.is_active:
            return "Your account is inactive."
        if self.review:
            why = review_obstacle(user, case)
            if why == NOT_A_REVIEWER:
                return f"Only reviewers can {self.doing or self.label.lower() + ' a case'}."
            if why == OWN_CASE:
                return (
                    f"You created {case.reference}, so it must be {self.past_tense} by "
                    "another reviewer (four-eyes rule)."
                )
        elif self.name == "reopen":
            if not user.has_perm("tracker.reopen_case"):
                return "Only administrators can reopen a case."
        elif case.created_by_id != user.pk and not user.is_superuser:
            return f"Only the monitor who created {case.reference} can {self.label.lower()} it."
        elif not user.has_perm("tracker.change_case"):
            # Its creator, but no longer a monitor (moved to reviewing, say): as with
            # editing it (Case.can_edit), the role is what lets them move it.
            return f"Only monitors can {self.label.lower()} a case."
        return None


SUBMIT = Action(
    "submit", "Submit", "submitted", (State.DRAFT, State.CHANGES_REQUESTED), State.SUBMITTED
)
START_REVIEW = Action(
    "start_review",
    "Start review",
    "taken into review",
    (State.SUBMITTED,),
    State.IN_REVIEW,
    review=True,
)
REQUEST_CHANGES = Action(
    "request_changes",
    "Request changes",
    "sent back for changes",
    (State.IN_REVIEW,),
    State.CHANGES_REQUESTED,
    reason_required=True,
    review=True,
)
APPROVE = Action("approve", "Approve", "approved", (State.IN_REVIEW,), State.APPROVED, review=True)
REJECT = Action(
    "reject",
    "Reject",
    "rejected",
    (State.IN_REVIEW,),
    State.REJECTED,
    reason_required=True,
    review=True,
)
WITHDRAW = Action("withdraw", "Withdraw", "withdrawn", OPEN_STATES, State.WITHDRAWN)
# A reviewer withdraws a case that reports an incident already logged, linking it to
# the case it repeats (``Case.duplicate_of``); its creator would simply withdraw it.
MARK_DUPLICATE = Action(
    "mark_duplicate",
    "Mark as duplicate",
    "marked as a duplicate",
    WAITING_STATES,
    State.WITHDRAWN,
    review=True,
    doing="mark a case as a duplicate",
)
REOPEN = Action(
    "reopen",
    "Reopen",
    "reopened",
    (State.APPROVED, State.REJECTED, State.WITHDRAWN),
    State.DRAFT,
    reason_required=True,
)

ACTIONS = {
    action.name: action
    for action in (
        SUBMIT,
        START_REVIEW,
        REQUEST_CHANGES,
        APPROVE,
        REJECT,
        WITHDRAW,
        MARK_DUPLICATE,
        REOPEN,
    )
}


def available_actions(case, user):
    """The actions this user could take on the case as it stands."""
    return [
        action
        for action in ACTIONS.values()
        if case.state in action.sources and action.refusal(user, case) is None
    ]


def obstacle(case, action, user):
    """Why ``user`` cannot take ``action`` on ``case`` as it stands, or None: first who
    may act (the four-eyes rule among them), then the case's state. The same checks
    ``perform`` makes under its lock, for telling the user before they write anything."""
    return action.refusal(user, case) or (
        None if case.state in action.sources else _wrong_state_message(action, case)
    )


def needs_justification(case):
    """Whether approving ``case`` needs a written justification: it has fewer
    independent supporting sources than ``CORROBORATION_MIN``. Reads the count stored
    on the case (``evidence.corroboration``), so a list of cases is judged in the query
    that fetched it; ``perform`` counts afresh under its lock."""
    return case.supporting_sources < settings.CORROBORATION_MIN


@dataclass(frozen=True)
class Plan:
    """What one action on several cases would do, worked out before asking for a comment:
    the cases it can be taken on, those it cannot (each with the reason), and, for an
    approval, those of the first that need a justification."""

    action: Action
    ready: list
    skipped: list  # (case, reason) pairs
    need_justification: list


def plan(cases, action, user):
    """A ``Plan`` for taking ``action`` on each of ``cases`` as ``user``."""
    ready, skipped = [], []
    for case in cases:
        reason = obstacle(case, action, user)
        if reason:
            skipped.append((case, reason))
        else:
            ready.append(case)
    need_justification = [c for c in ready if action is APPROVE and needs_justification(c)]
    return Plan(action, ready, skipped, need_justification)


def perform(case, action, actor, comment="", justification="", duplicate_of=None):
    """Take ``action`` (an Action or its name) on ``case`` as ``actor``.

    Returns the Transition written; raises TransitionForbidden when the actor may not
    act, TransitionError when the case is not in a state the action applies to (for
    instance because another reviewer acted a moment earlier), a reason is missing,
    or an approval lacks corroboration and a justification. A justification is recorded
    only with an approval below the corroboration minimum, the one it answers for
    (one text given for several cases is kept on those that need it). Marking a case
    as a duplicate needs ``duplicate_of``, the case it repeats, which the actor can see
    and which is not (through its own link) a duplicate of ``case``; the link is
    recorded in the comment too, and reopening the case clears it. ``case`` is updated
    in place.
    """
    if isinstance(action, str):
        try:
            action = ACTIONS[action]
        except KeyError:
            raise TransitionError(f"There is no workflow action called {action!r}.") from None
    comment = comment.strip()
    justification = justification.strip()

    with transaction.atomic():
        # The row lock makes a second reviewer wait until the first has committed, and
        # then read the state the first one wrote.
        if action is MARK_DUPLICATE and duplicate_of is not None:
            # Both rows, in one order whoever acts, so two reviewers marking two cases
            # as duplicates of each other neither deadlock nor both succeed.
            list(
                Case.objects.select_for_update()
                .filter(pk__in=[case.pk, duplicate_of.pk])
                .order_by("pk")
                .values_list("pk")
            )
        current = Case.objects.select_for_update().get(pk=case.pk)
        refusal = action.refusal(actor, current)
        if refusal:
            raise TransitionForbidden(refusal)
        if current.state not in action.sources:
            raise TransitionError(_wrong_state_message(action, current))
        if action.reason_required and not comment:
            raise TransitionError(f"Give a reason to {action.label.lower()} {current.reference}.")
        if action is SUBMIT:
            _check_evidence(current)
        if action is APPROVE:
            justification = _check_corroboration(current, justification)
        else:
            justification = ""
        if action is MARK_DUPLICATE:
            _check_duplicate(current, duplicate_of, actor)
            said = f"Duplicate of {duplicate_of.reference}."
            comment = f"{said} {comment}" if comment else said

        from_state = current.state
        current.state = action.target
        current.state_changed_at = timezone.now()
        update_fields = ["state", "state_changed_at", "updated_at"]
        if action is START_REVIEW:
            current.assigned_reviewer = actor
            update_fields.append("assigned_reviewer")
        if action is MARK_DUPLICATE or (action is REOPEN and current.duplicate_of_id):
            current.duplicate_of = duplicate_of if action is MARK_DUPLICATE else None
            update_fields.append("duplicate_of")
        current._history_user = actor
        current.save(update_fields=update_fields)
        record = Transition.objects.create(
            case=current,
            action=action.name,
            from_state=from_state,
            to_state=action.target,
            actor=actor,
            at=current.state_changed_at,
            comment=comment,
            justification=justification,
        )
        case_moved.send(sender=Transition, transition=record)

    for field in update_fields:
        setattr(case, field, getattr(current, field))
    return record


def _check_evidence(case):
    """A case goes to review with at least SUBMIT_MIN_EVIDENCE evidence items."""
    needed, items = settings.SUBMIT_MIN_EVIDENCE, case.evidence.count()
    if items < needed:
        has = "no evidence yet" if not items else f"only {items} evidence item(s)"
        raise TransitionError(
            f"{case.reference} has {has}: add at least {needed} (a statement, a report, "
            "an image …) before submitting it for review."
        )


def _check_corroboration(case, justification):
    """Approval needs CORROBORATION_MIN independent supporting sources, or a reason.
    Returns the justification to record: none when the minimum is met."""
    corroboration = summarize(case)
    if corroboration.meets_minimum:
        return ""
    if not justification:
        not_counted = (
            f" (not counted: {corroboration.not_counted})" if corroboration.not_counted else ""
        )
        raise TransitionError(
            f"{case.reference} has {corroboration.supporting_sources} independent supporting "
            f"source(s){not_counted}; approval needs {corroboration.minimum}. To approve it "
            "anyway, write a justification: it is recorded with the decision."
        )
    return justification


def _check_duplicate(case, original, actor):
    """``case`` may be linked as a duplicate of ``original``: another case, one the actor
    can see, that does not lead back to ``case`` by its own duplicate links."""
    if original is None:
        raise TransitionError(f"Say which case {case.reference} is a duplicate of.")
    if original.pk == case.pk:
        raise TransitionError(f"{case.reference} cannot be a duplicate of itself.")
    if not Case.objects.visible_to(actor).filter(pk=original.pk).exists():
        # Not "you may not see it": a case the actor cannot see is not disclosed.
        raise TransitionError(f"There is no case {original.reference} that you can see.")
    seen = {original.pk}
    step = Case.objects.filter(pk=original.pk).values_list("duplicate_of_id", flat=True).first()
    while step is not None and step not in seen:
        if step == case.pk:
            raise TransitionError(
                f"{original.reference} is already marked as a duplicate of {case.reference} "
                f"(directly or through another case), so {case.reference} cannot be marked "
                f"as a duplicate of {original.reference}."
            )
        seen.add(step)
        step = Case.objects.filter(pk=step).values_list("duplicate_of_id", flat=True).first()


def _wrong_state_message(action, case):
    allowed = " or ".join(State(s).label.lower() for s in action.sources)
    message = (
        f"{case.reference} is {case.get_state_display().lower()}, so it cannot be "
        f"{action.past_tense}: only a case that is {allowed} can."
    )
    last = case.transitions.select_related("actor").last()
    if last:
        when = timezone.localtime(last.at).strftime("%d %b %Y %H:%M:%S")
        message += f" It was {ACTIONS[last.action].past_tense} by {last.actor} at {when}."
    return message


def submit(case, actor, comment=""):
    return perform(case, SUBMIT, actor, comment)


def start_review(case, actor, comment=""):
    return perform(case, START_REVIEW, actor, comment)


def request_changes(case, actor, reason):
    return perform(case, REQUEST_CHANGES, actor, reason)


def approve(case, actor, comment="", justification=""):
    return perform(case, APPROVE, actor, comment, justification)


def reject(case, actor, reason):
    return perform(case, REJECT, actor, reason)


def withdraw(case, actor, comment=""):
    return perform(case, WITHDRAW, actor, comment)


def mark_duplicate(case, of, actor, comment=""):
    """Withdraw ``case`` as a duplicate of the case ``of``, as the reviewer ``actor``."""
    return perform(case, MARK_DUPLICATE, actor, comment, duplicate_of=of)


def reopen(case, actor, reason):
    return perform(case, REOPEN, actor, reason)
