"""Each rule has one definition; where it is said twice (a filter for the database and
a method for one case), these tests keep the two saying the same."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tracker.models import Case

pytestmark = pytest.mark.django_db


def test_the_overdue_filter_and_the_overdue_case_agree_at_every_edge(case_factory, settings):
    settings.REVIEW_SLA_DAYS = 3
    now = timezone.now()
    ages = [timedelta(days=3) - timedelta(seconds=1), timedelta(days=3), timedelta(days=4)]
    for state in ("draft", "submitted", "in_review", "changes_requested", "approved"):
        for age in ages:
            case = case_factory(state)
            Case.objects.filter(pk=case.pk).update(state_changed_at=now - age)
    cases = list(Case.objects.all())

    overdue = set(Case.objects.overdue(now))
    assert overdue == {case for case in cases if case.is_overdue(now)}
    # Waiting exactly the SLA is overdue; a second less is not; closed cases never are.
    assert {(case.state, now - case.state_changed_at) for case in overdue} == {
        (state, age)
        for state in ("submitted", "in_review", "changes_requested")
        for age in ages[1:]
    }
