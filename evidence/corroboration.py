"""How well a case is sourced: independent supporting and refuting sources, and a
suggested credibility for the case as a whole.

Independence counts originating sources: Reuters reporting the UN monitors' finding is
one item of the UN monitors, so two outlets repeating one government count once.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from .models import Credibility, EvidenceItem, Stance

RELIABLE = ("A", "B", "C")
SUPPORTS = Q(evidence__stance=Stance.SUPPORTS)
REFUTES = Q(evidence__stance=Stance.REFUTES)


@dataclass(frozen=True)
class Corroboration:
    supporting_sources: int
    refuting_sources: int
    suggested_credibility: int
    minimum: int

    @property
    def meets_minimum(self):
        return self.supporting_sources >= self.minimum

    @property
    def suggested_credibility_label(self):
        return Credibility(self.suggested_credibility).label

    def __str__(self):
        text = f"{self.supporting_sources} independent supporting source"
        text += "" if self.supporting_sources == 1 else "s"
        text += f" (minimum {self.minimum}), {self.refuting_sources} refuting"
        return text


def with_corroboration(cases):
    """Annotate each case with ``supporting_sources`` and ``refuting_sources``.

    Correlated subqueries rather than a join and GROUP BY: PostgreSQL works them out
    only for the rows a page shows, and counting the whole list stays cheap.
    """
    return cases.annotate(
        supporting_sources=_independent_sources(Stance.SUPPORTS),
        refuting_sources=_independent_sources(Stance.REFUTES),
    )


def _independent_sources(stance):
    distinct_sources = (
        EvidenceItem.objects.filter(case=OuterRef("pk"), stance=stance)
        .order_by()
        .values("case")
        .annotate(n=Count("source", distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(distinct_sources), 0)


def summarize(case):
    reliable = Q(evidence__source__reliability__in=RELIABLE)
    counts = (
        type(case)
        .objects.filter(pk=case.pk)
        .aggregate(
            supporting=Count("evidence__source", filter=SUPPORTS, distinct=True),
            reliable_supporting=Count(
                "evidence__source", filter=SUPPORTS & reliable, distinct=True
            ),
            refuting=Count("evidence__source", filter=REFUTES, distinct=True),
            reliable_refuting=Count("evidence__source", filter=REFUTES & reliable, distinct=True),
            best_supporting=Min("evidence__credibility", filter=SUPPORTS),
        )
    )
    minimum = settings.CORROBORATION_MIN
    return Corroboration(
        supporting_sources=counts["supporting"],
        refuting_sources=counts["refuting"],
        suggested_credibility=suggest_credibility(counts, minimum),
        minimum=minimum,
    )


def suggest_credibility(counts, minimum):
    """A starting point for the reviewer's own judgement, never a verdict:

    no supporting source: 6 (cannot be judged); at least ``minimum`` independent
    supporting sources graded A–C: 1 (confirmed by other sources); otherwise the best
    grade among the supporting items, but no better than 2, since nothing confirms it.
    A refutation from a source graded A–C lowers the suggestion by one step.
    """
    if not counts["supporting"]:
        return Credibility.UNKNOWN
    if counts["reliable_supporting"] >= minimum:
        grade = Credibility.CONFIRMED
    else:
        grade = max(counts["best_supporting"], Credibility.PROBABLE)
    if counts["reliable_refuting"]:
        grade = min(grade + 1, Credibility.IMPROBABLE)
    return grade
