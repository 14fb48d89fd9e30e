"""Webhook events for the webhook scenarios: run by the harness as
``python -m faults.events URL SECRET N`` against its own PostgreSQL (DATABASE_URL).
Registers an endpoint for approvals at URL, then approves N cases through the
workflow, one transition (and so one event) each; prints their references as JSON."""

import json
import sys

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from faults.race import case, user  # noqa: E402
from tracker import roles, workflow  # noqa: E402
from tracker.models import State  # noqa: E402
from webhooks.models import Endpoint, Event  # noqa: E402


def main(url, secret, count):
    # The administrators hear of an endpoint disabled; the monitor has no address, so
    # the approvals send no notifications to compete with the webhooks.
    get_user_model().objects.create_superuser("faults-admin", "faults-admin@example.org")
    Endpoint.objects.create(name="Partner", url=url, secret=secret, events=[Event.APPROVED])
    monitor = user("events-monitor", roles.MONITOR)
    monitor.email = ""
    monitor.save()
    reviewer = user("events-reviewer", roles.REVIEWER)
    references = []
    for n in range(count):
        approved = case(
            monitor,
            f"Approved {n}",
            "Shells by rail, approved for a partner.",
            state=State.IN_REVIEW,
        )
        workflow.approve(approved, reviewer, justification="Fault run")
        references.append(approved.reference)
    json.dump(references, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
