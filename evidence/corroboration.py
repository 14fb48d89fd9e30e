"""How well a case is sourced: independent supporting and refuting sources, and a
suggested credibility for the case as a whole.

Independence counts originating sources: Reuters reporting the UN monitors' finding is
one item of the UN monitors, so two outlets repeating one government count once.

A supporting source counts towards ``CORROBORATION_MIN`` only once a reviewer other
than the case's creator has graded it: a source proposed and not yet graded, or graded
by whoever created the case, is shown as support but does not count, so nobody
corroborates their own case. A grade given before graders were recorded (a grading
time without a grader) counts.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from .models import Credibility, EvidenceItem, Stance

SUPPORTS = Q(stance=Stance.SUPPORTS)
REFUTES = Q(stance=Stance.REFUTES)
RELIABLE = Q(source__reliability__in=("A", "B", "C"))
NOT_YET_GRADED = Q(source__graded_at__isnull=True)
GRADED_BY_CREATOR = Q(source__graded_by=OuterRef("created_by"))
# The one rule for what counts towards the minimum; the summary and the lists' annotation
# both use it.
COUNTED = SUPPORTS & ~NOT_YET_GRADED & ~GRADED_BY_CREATOR


@dataclass(frozen=True)
class Corroboration:
    supporting_sources: int
    refuting_sources: int
    suggested_credibility: int
    minimum: int
    not_yet_graded: int = 0
    graded_by_creator: int = 0

    @property
    def meets_minimum(self):
        return self.supporting_sources >= self.minimum

    @property
    def suggested_credibility_label(self):
        return Credibility(self.suggested_credibility).label

    @property
    def not_counted(self):
        """Why some supporting sources do not count towards the minimum, or ""."""
        reasons = []
        if self.not_yet_graded:
            reasons.append(f"{self.not_yet_graded} not yet graded by a reviewer")
        if self.graded_by_creator:
            reasons.append(f"{self.graded_by_creator} graded by the case's creator")
        if not reasons:
            return ""
        total = self.not_yet_graded + self.graded_by_creator
        noun = "source" if total == 1 else "sources"
        return f"{total} more supporting {noun}: " + ", ".join(reasons)

    def __str__(self):
        text = f"{self.supporting_sources} independent supporting source"
        text += "" if self.supporting_sources == 1 else "s"
        text += f" (minimum {self.minimum}), {self.refuting_sources} refuting"
        if self.not_counted:
            text += f"; not counted towards the minimum: {self.not_counted}"
        return text


def with_corroboration(cases):
    """Annotate each case with ``supporting_sources`` (those counting towards the
    minimum) and ``refuting_sources``.

    Correlated subqueries rather than a join and GROUP BY: PostgreSQL works them out
    only for the rows a page shows, and counting the whole list stays cheap.
    """
    return cases.annotate(
        supporting_sources=_independent_sources(COUNTED),
        refuting_sources=_independent_sources(REFUTES),
    )


def _independent_sources(condition):
    count = _items(condition).annotate(n=Count("source", distinct=True)).values("n")
    return Coalesce(Subquery(count), 0)


def _items(condition):
    """The case's items meeting ``condition``, as one group for an aggregate."""
    return EvidenceItem.objects.filter(condition, case=OuterRef("pk")).order_by().values("case")


def with_credibility_inputs(cases):
    """Annotate each case with what ``suggest_credibility`` reads besides the minimum
    (``reliable_supporting``, ``reliable_refuting``, ``best_supporting``), so a list of
    cases (an export) suggests each one's credibility without a query per case."""
    return cases.annotate(
        reliable_supporting=_independent_sources(COUNTED & RELIABLE),
        reliable_refuting=_independent_sources(REFUTES & RELIABLE),
        best_supporting=Subquery(_items(SUPPORTS).annotate(best=Min("credibility")).values("best")),
    )


def summarize(case):
    counts = (
        with_credibility_inputs(with_corroboration(type(case).objects.filter(pk=case.pk)))
        .annotate(
            not_yet_graded=_independent_sources(SUPPORTS & NOT_YET_GRADED),
            graded_by_creator=_independent_sources(SUPPORTS & GRADED_BY_CREATOR),
        )
        .values(
            "supporting_sources",
            "refuting_sources",
            "not_yet_graded",
            "graded_by_creator",
            "reliable_supporting",
            "reliable_refuting",
            "best_supporting",
        )
        .get()
    )
    minimum = settings.CORROBORATION_MIN
    return Corroboration(
        supporting_sources=counts["supporting_sources"],
        refuting_sources=counts["refuting_sources"],
        suggested_credibility=suggest_credibility(counts, minimum),
        minimum=minimum,
        not_yet_graded=counts["not_yet_graded"],
        graded_by_creator=counts["graded_by_creator"],
    )


def suggest_credibility(counts, minimum):
    """A starting point for the reviewer's own judgement, never a verdict:

    no supporting item: 6 (cannot be judged); at least ``minimum`` independent
    supporting sources that count (above) and are graded A–C: 1 (confirmed by other
    sources); otherwise the best grade among the supporting items, but no better than
    2, since nothing confirms it. A refutation from a source graded A–C lowers the
    suggestion by one step.
    """
    if counts["best_supporting"] is None:
        return Credibility.UNKNOWN
    if counts["reliable_supporting"] >= minimum:
        grade = Credibility.CONFIRMED
    else:
        grade = max(counts["best_supporting"], Credibility.PROBABLE)
    if counts["reliable_refuting"]:
        grade = min(grade + 1, Credibility.IMPROBABLE)
    return grade
