"""Cases waiting past the review SLA, for the beat scenario: run by the harness as
``python -m faults.overdue N`` against its own PostgreSQL (DATABASE_URL). Each case is in
review with a reviewer of its own, so its reminders are told apart by address; an
administrator receives the escalations."""

import sys
from datetime import timedelta

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.utils import timezone  # noqa: E402

from faults.race import case, user  # noqa: E402
from tracker import roles  # noqa: E402
from tracker.models import Case, State  # noqa: E402


def main(count):
    get_user_model().objects.create_superuser("faults-admin", "faults-admin@example.org")
    monitor = user("overdue-monitor", roles.MONITOR)
    for n in range(count):
        case(
            monitor,
            f"Overdue {n}",
            "Waits for its reviewer.",
            assigned_reviewer=user(f"overdue-reviewer-{n}", roles.REVIEWER),
            state=State.IN_REVIEW,
        )
    # Overdue from the first day of the harness's week on, escalated from its third.
    Case.objects.update(state_changed_at=timezone.now() - timedelta(days=4))


if __name__ == "__main__":
    main(int(sys.argv[1]))
