"""Reviewers racing on one case: run by the harness as ``python -m faults.race``
against its own PostgreSQL (DATABASE_URL); prints, as JSON, how many decisions each
case got. Each case is decided by ``reviewers`` threads released at the same moment."""

import json
import sys
import threading
from datetime import date

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402

from tracker import roles, workflow  # noqa: E402
from tracker.models import Case, State, Transition  # noqa: E402


def user(username, role):
    account = get_user_model().objects.create_user(username, f"{username}@example.org")
    account.groups.add(Group.objects.get(name=role))
    return account


def case(monitor, title, summary, **fields):
    """A case of the harness's: a shipment at Rajin logged by ``monitor``, in the state
    and with the fields given (a draft by default)."""
    return Case.objects.create(
        title=title,
        summary=summary,
        incident_type="munitions_shipment",
        incident_start=date(2024, 2, 27),
        place_name="Rajin",
        country="KP",
        created_by=monitor,
        **fields,
    )


def decide(case_id, reviewer, index, barrier, outcomes):
    case = Case.objects.get(pk=case_id)
    # Half approve (with a justification, so corroboration does not refuse), half reject.
    action = "approve" if index % 2 else "reject"
    barrier.wait()
    try:
        workflow.perform(case, action, reviewer, comment="Decided in a race.", justification="Race")
        outcomes.append("decided")
    except workflow.TransitionError:
        outcomes.append("refused")
    finally:
        connection.close()


def main(rounds, reviewers):
    monitor = user("race-monitor", roles.MONITOR)
    team = [user(f"race-reviewer-{n}", roles.REVIEWER) for n in range(reviewers)]
    decisions = []
    for round_ in range(rounds):
        case_id = case(
            monitor, f"Race {round_}", "Decided by many reviewers at once.", state=State.IN_REVIEW
        ).pk
        barrier = threading.Barrier(reviewers)
        outcomes = []
        threads = [
            threading.Thread(target=decide, args=(case_id, reviewer, n, barrier, outcomes))
            for n, reviewer in enumerate(team)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        decisions.append(
            {
                "transitions": Transition.objects.filter(
                    case_id=case_id, from_state=State.IN_REVIEW
                ).count(),
                "decided": outcomes.count("decided"),
                "refused": outcomes.count("refused"),
            }
        )
    json.dump(decisions, sys.stdout)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
