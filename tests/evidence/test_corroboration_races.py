"""A source regraded while evidence citing it (or the cases citing it) is saved, on
real PostgreSQL connections: the stored counts must equal a recount afterwards."""

import pytest

from evidence.corroboration import RECOUNTED, recount
from evidence.custody import add_evidence
from evidence.models import Source
from tests import factories
from tests.concurrency import held_open
from tracker.models import Case

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def stale(case):
    row = recount(Case.objects.filter(pk=case.pk)).get()
    return {
        name: (getattr(row, name), getattr(row, again))
        for name, again in RECOUNTED.items()
        if getattr(row, name) != getattr(row, again)
    }


def regrade(source_pk, grade, by):
    source = Source.objects.get(pk=source_pk)
    source.grade(grade, by)
    source.save()


def add_statement(case, monitor, source, title):
    return add_evidence(
        case,
        monitor,
        source=source,
        kind="statement",
        stance="supports",
        title=title,
        credibility=2,
    )


def overlap(first, second):
    """Run ``first`` in a transaction held open while ``second`` starts; neither may fail."""
    outcomes = held_open(first, second, then_waits=False)
    assert [outcome.get("error") for outcome in outcomes] == [None, None]


@pytest.mark.parametrize("adding_first", [True, False])
def test_regrade_while_adding_evidence_citing_the_source(
    case_factory, monitor, reviewer, adding_first
):
    case = case_factory()
    source = factories.SourceFactory(name="Panel of Experts", reliability="B")
    factories.EvidenceItemFactory(case=case)  # one other counted source

    def add():
        add_statement(case, monitor, source, "Panel report")

    def grade():
        regrade(source.pk, "E", reviewer)

    overlap(*((add, grade) if adding_first else (grade, add)))
    assert stale(case) == {}


def test_regrade_while_adding_evidence_from_another_source_to_a_citing_case(
    case_factory, monitor, reviewer
):
    """The regrade's UPDATE of the case waits for the adder's row lock on it, then must
    not write counts that leave out the item just committed."""
    case = case_factory()
    source = factories.SourceFactory(name="Panel of Experts", reliability="B")
    factories.EvidenceItemFactory(case=case, source=source)
    other = factories.SourceFactory(name="Satellite imagery firm", reliability="B")

    overlap(
        lambda: add_statement(case, monitor, other, "Imagery"),
        lambda: regrade(source.pk, "A", reviewer),
    )
    assert stale(case) == {}
