"""What a dossier holds, read for any number of cases in a fixed number of queries,
and the record that it was handed out."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from evidence.corroboration import summary_of, with_summary
from evidence.models import CustodyAction, CustodyEvent, EvidenceItem
from tracker.models import Transition, works_on_cases
from tracker.views import decision


class TooManyCases(Exception):
    """A list dossier was asked for more cases than ``DOSSIER_MAX_CASES``."""


@dataclass
class CaseDossier:
    case: Any
    corroboration: Any
    evidence: list
    transitions: list
    decision: Any


@dataclass
class Dossier:
    cases: list
    generated_at: Any
    generated_by: Any
    # The team reads the review record (names, comments, the timeline); a stakeholder
    # the decision and its justification only, as on the case page.
    review_record: bool

    @property
    def items(self):
        return [item for entry in self.cases for item in entry.evidence]

    @property
    def references(self):
        return [entry.case.reference for entry in self.cases]


def gather(cases, user, custody=False):
    """The dossier of ``cases`` (a queryset of cases ``user`` may see) as ``user`` may
    read it. ``custody`` also reads each item's chain of custody (the package's
    manifest lists it). Raises TooManyCases past ``DOSSIER_MAX_CASES``: a dossier is
    one document, made in memory, so its size is bounded."""
    limit = settings.DOSSIER_MAX_CASES
    items = EvidenceItem.objects.select_related("source", "reporting_outlet", "file", "added_by")
    prefetches = [
        "weapon_systems",
        "sanctions_provisions",
        Prefetch("transitions", queryset=_transitions()),
        Prefetch("evidence", queryset=items),
    ]
    if custody:
        events = CustodyEvent.objects.select_related("actor").order_by("at", "pk")
        prefetches.append(Prefetch("evidence__custody", queryset=events))
    chosen = list(
        with_summary(cases)
        .select_related("created_by", "assigned_reviewer")
        .prefetch_related(*prefetches)[: limit + 1]
    )
    if len(chosen) > limit:
        raise TooManyCases(
            f"More than {limit} cases match: a dossier holds at most {limit}. "
            "Narrow the filters (a state, a date range, a country) and ask again."
        )
    entries = []
    for case in chosen:
        transitions = list(case.transitions.all())
        entries.append(
            CaseDossier(
                case=case,
                corroboration=summary_of(case),
                evidence=list(case.evidence.all()),
                transitions=transitions,
                decision=decision(case, transitions),
            )
        )
    return Dossier(
        cases=entries,
        generated_at=timezone.now(),
        generated_by=user,
        review_record=works_on_cases(user),
    )


def _transitions():
    return Transition.objects.select_related("actor").order_by("at", "pk")


def record_export(items, user, note):
    """An "exported" custody event for each item, written in one statement however
    many there are: the chain of custody says who took the item out, when and in
    what."""
    events = [
        CustodyEvent(
            item=item,
            action=CustodyAction.EXPORTED,
            actor=user,
            sha256=item.file.sha256 if item.file_id else "",
            note=note,
        )
        for item in items
    ]
    CustodyEvent.objects.bulk_create(events)
    return events
