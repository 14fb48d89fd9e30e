"""How well a case is sourced: independent supporting and refuting sources, and a
suggested credibility for the case as a whole.

Independence counts originating sources: Reuters reporting the UN monitors' finding is
one item of the UN monitors, so two outlets repeating one government count once.

A supporting source counts towards ``CORROBORATION_MIN`` only once a reviewer other
than the case's creator has graded it: a source proposed and not yet graded, or graded
by whoever created the case, is shown as support but does not count, so nobody
corroborates their own case. A grade given before graders were recorded (a grading
time without a grader) counts.

The lists filter and sort by the counts, so each case stores them (``Case.
supporting_sources``, ``refuting_sources``, ``suggested_credibility``), written by
``refresh_corroboration`` alone, in the transaction of every change that moves them:

- an evidence item added, edited (stance, source, credibility, case) or deleted;
- a source regraded (reliability, who graded it, when): every case citing it, in one
  UPDATE;
- a case's creator: never changes once the case is made (``Case.UNSAVED_FIELDS``).

Why the hook below covers every path: each of those is a ``save()`` or a ``delete()`` of
an ``EvidenceItem`` or a ``Source`` (the pages and ``custody.save_with_file``, the
admin's inline and its grading, the API through the same forms, the retry of a staged
upload, the demo loader, a history revert), and the receivers of ``post_save`` and
``post_delete`` here catch them all; ``EvidenceItem.save`` and ``Source.save`` hold the
save and its receivers in one transaction, as Django sends ``post_save`` after its own.
What bypasses the model's save (``bulk_create``, ``QuerySet.update``, raw SQL: only the
benchmark's data set builder does, and the migration that filled the columns) calls
``refresh_corroboration`` itself.

Two such changes at once must not leave a count that neither of them would: a recount
in PostgreSQL's READ COMMITTED sees what was committed when its statement began, and an
UPDATE that waited for another's row lock keeps that old view. So the receivers lock
before they count, always cases (by id) before the source: an item's case rows, then
its source ``FOR SHARE`` (a regrading in progress is waited for, and waits in turn for
the item); a source's regrading locks the cases citing it before the source row is
written, and again, with any found citing it since, before they are recounted. Each
recount is then a statement that began after whatever it waited for had committed.
``manage.py check_corroboration`` recounts every case
and says (``--fix`` repairs) where the stored values differ, e.g. after
``CORROBORATION_MIN`` changed, which the suggested credibility depends on.
"""

from dataclasses import dataclass, replace

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Count, F, Min, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest, Least
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from tracker.models import CORROBORATION_FIELDS, Case

from .models import Credibility, EvidenceItem, Source, Stance

SUPPORTS = Q(stance=Stance.SUPPORTS)
REFUTES = Q(stance=Stance.REFUTES)
RELIABLE = Q(source__reliability__in=("A", "B", "C"))
NOT_YET_GRADED = Q(source__graded_at__isnull=True)
GRADED_BY_CREATOR = Q(source__graded_by=OuterRef("created_by"))
# The one rule for what counts towards the minimum; the summary and the stored counts
# both use it.
COUNTED = SUPPORTS & ~NOT_YET_GRADED & ~GRADED_BY_CREATOR
# What of a source the counts read.
GRADE_FIELDS = {"reliability", "graded_by", "graded_by_id", "graded_at"}


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

    def for_readers(self):
        """The counts without why some sources do not count yet (ungraded, or graded by
        the case's creator): the team's working, which stakeholders are not shown."""
        return replace(self, not_yet_graded=0, graded_by_creator=0)

    def __str__(self):
        text = f"{self.supporting_sources} independent supporting source"
        text += "" if self.supporting_sources == 1 else "s"
        text += f" (minimum {self.minimum}), {self.refuting_sources} refuting"
        if self.not_counted:
            text += f"; not counted towards the minimum: {self.not_counted}"
        return text


def counted(evidence_items=EvidenceItem, minimum=None):
    """The stored fields' values as expressions over a case's evidence: correlated
    subqueries, each reading the case's items by their index.

    ``evidence_items`` is the model to count in (a migration passes its historical one).
    """
    minimum = settings.CORROBORATION_MIN if minimum is None else minimum
    return {
        "supporting_sources": _independent_sources(evidence_items, COUNTED),
        "refuting_sources": _independent_sources(evidence_items, REFUTES),
        "suggested_credibility": _suggested_credibility(evidence_items, minimum),
    }


RECOUNTED = {name: f"recounted_{name}" for name in CORROBORATION_FIELDS}


def recount(cases):
    """``cases`` annotated with ``recounted_supporting_sources`` and so on: the stored
    fields' values worked out afresh."""
    return cases.annotate(**{RECOUNTED[name]: value for name, value in counted().items()})


def refresh_corroboration(cases):
    """Store the corroboration of ``cases`` (a queryset of cases or their ids) anew, in
    one UPDATE however many: a source regraded recounts every case citing it at once.
    Call it in the transaction of the change, as the receivers below do."""
    if isinstance(cases, models.QuerySet):
        chosen = Case.objects.filter(pk__in=cases.order_by().values("pk"))
        return chosen.update(**counted())
    ids = {pk for pk in cases if pk is not None}
    if len(ids) == 1:
        return _refresh_one(ids.pop())
    return Case.objects.filter(pk__in=ids).update(**counted()) if ids else 0


# The statement that recounts one case, as Django wrote it, by database and minimum.
_ONE_CASE = {}


def _refresh_one(pk, using=DEFAULT_DB_ALIAS):
    """Recount one case (an item saved): Django takes some ten times as long to write
    the statement (a few milliseconds: three subqueries, each resolved and compiled) as
    the database to run it, so the first one is kept, as Django wrote and ran it, and
    run again with another case's id."""
    key = (using, settings.CORROBORATION_MIN)
    if key in _ONE_CASE:
        sql, params = _ONE_CASE[key]
        with connections[using].cursor() as cursor:
            cursor.execute(sql, [*params, pk])
            return cursor.rowcount
    written = []

    def keep(execute, sql, params, many, context):
        written.append((sql, params))
        return execute(sql, params, many, context)

    with connections[using].execute_wrapper(keep):
        count = Case.objects.using(using).filter(pk=pk).update(**counted())
    [(sql, params)] = written
    # The case's id is the statement's last parameter (WHERE id = %s).
    if sql.startswith("UPDATE") and list(params[-1:]) == [pk]:
        _ONE_CASE[key] = (sql, tuple(params[:-1]))
    return count


def _lock_cases(cases, using):
    """Lock the rows of ``cases`` (a queryset of cases, or their ids) in order of id,
    and return the ids locked. ``FOR NO KEY UPDATE``, as an UPDATE of the counts locks:
    it does not wait for an evidence item being inserted into the case."""
    if isinstance(cases, models.QuerySet):
        chosen = cases.order_by().values("pk")
    else:
        chosen = [pk for pk in cases if pk is not None]
    locked = Case.objects.using(using).select_for_update(no_key=True).filter(pk__in=chosen)
    return list(locked.order_by("pk").values_list("pk", flat=True))


def _hold_grade(source_id, using):
    """Keep the source's grade as it is until this transaction ends: wait for a
    regrading in progress to commit, and make one that starts wait for this."""
    connection = connections[using]
    if source_id is None or not connection.features.has_select_for_update:
        return
    table = connection.ops.quote_name(Source._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR SHARE", [source_id])


def _regrades(instance, update_fields):
    # A new source is cited by no case yet. Any other save may have regraded it: the
    # cases citing it are recounted whatever changed, as comparing with the grade read
    # before could miss a regrading committed meanwhile.
    return not instance._state.adding and (
        update_fields is None or bool(GRADE_FIELDS & set(update_fields))
    )


@receiver(post_save, sender=EvidenceItem, dispatch_uid="corroboration_item_saved")
def _item_saved(sender, instance, using, **kwargs):
    cases = _lock_cases({instance.case_id, getattr(instance, "loaded_case_id", None)}, using)
    _hold_grade(instance.source_id, using)
    refresh_corroboration(cases)
    instance.loaded_case_id = instance.case_id


@receiver(post_delete, sender=EvidenceItem, dispatch_uid="corroboration_item_deleted")
def _item_deleted(sender, instance, using, **kwargs):
    refresh_corroboration(_lock_cases({instance.case_id}, using))


@receiver(pre_save, sender=Source, dispatch_uid="corroboration_source_regrading")
def _source_regrading(sender, instance, using, update_fields=None, **kwargs):
    # Before the source row is written (Source.save holds this in its transaction):
    # cases, then the source, as an item's save locks them.
    if _regrades(instance, update_fields):
        _lock_cases(Case.objects.filter(evidence__source=instance), using)


@receiver(post_save, sender=Source, dispatch_uid="corroboration_source_saved")
def _source_saved(sender, instance, created, using, update_fields=None, **kwargs):
    # ``_state.adding`` is already False here: ``created`` says whether it was new.
    if created or not _regrades(instance, update_fields):
        return
    # Again: a case may have come to cite the source since the lock before the save.
    refresh_corroboration(_lock_cases(Case.objects.filter(evidence__source=instance), using))


def _independent_sources(evidence_items, condition):
    # The condition filters the aggregate, not the rows: the case's items are found by
    # their index and their sources joined to them. As a WHERE, PostgreSQL began from
    # the sources (expecting few to pass "not graded by the creator") and probed the
    # case's items once per source, which a regrading paid for every case citing it.
    count = _items(evidence_items, Q()).annotate(n=Count("source", distinct=True, filter=condition))
    return Coalesce(Subquery(count.values("n")), 0)


def _items(evidence_items, condition):
    """The case's items meeting ``condition``, as one group for an aggregate."""
    return evidence_items.objects.filter(condition, case=OuterRef("pk")).order_by().values("case")


def _suggested_credibility(evidence_items, minimum):
    """A starting point for the reviewer's own judgement, never a verdict:

    no supporting item: 6 (cannot be judged); at least ``minimum`` independent
    supporting sources that count (above) and are graded A–C: 1 (confirmed by other
    sources); otherwise the best grade among the supporting items, but no better than
    2, since nothing confirms it. A refutation from a source graded A–C lowers the
    suggestion by one step (to 5 at most).
    """
    grades = _items(evidence_items, Q()).annotate(
        best=Min("credibility", filter=SUPPORTS),
        reliable_supporting=Count("source", distinct=True, filter=COUNTED & RELIABLE),
        reliable_refuting=Count("source", distinct=True, filter=REFUTES & RELIABLE),
    )
    unconfirmed = Greatest(F("best"), Value(Credibility.PROBABLE))
    confirmed = Q(reliable_supporting__gte=minimum)
    refuted = Q(reliable_refuting__gt=0)
    suggestion = models.Case(
        When(best__isnull=True, then=Value(Credibility.UNKNOWN)),
        When(confirmed & refuted, then=Value(Credibility.CONFIRMED + 1)),
        When(confirmed, then=Value(Credibility.CONFIRMED)),
        When(refuted, then=Least(unconfirmed + 1, Value(Credibility.IMPROBABLE))),
        default=unconfirmed,
        output_field=models.PositiveSmallIntegerField(),
    )
    return Coalesce(
        Subquery(grades.annotate(suggestion=suggestion).values("suggestion")),
        Value(Credibility.UNKNOWN),
    )


# Why some support does not count: shown beside the counts, never stored.
NOT_COUNTED = {
    "not_yet_graded": SUPPORTS & NOT_YET_GRADED,
    "graded_by_creator": SUPPORTS & GRADED_BY_CREATOR,
}


def with_summary(cases):
    """``cases`` with what a ``Corroboration`` needs beyond the stored counts, in the
    same query: a dossier of many cases summarizes each without a query per case, and
    a case's page shows the counts its list filters by without counting them again
    (``summarize`` took a worker's every fifteenth sample under load, most of it Django
    writing the recount's five subqueries)."""
    return cases.annotate(**_not_counted())


def _not_counted():
    return {name: _independent_sources(EvidenceItem, why) for name, why in NOT_COUNTED.items()}


def summary_of(case):
    """The ``Corroboration`` of a case read through ``with_summary``: its stored counts."""
    return Corroboration(
        supporting_sources=case.supporting_sources,
        refuting_sources=case.refuting_sources,
        suggested_credibility=case.suggested_credibility,
        minimum=settings.CORROBORATION_MIN,
        not_yet_graded=case.not_yet_graded,
        graded_by_creator=case.graded_by_creator,
    )


def summarize(case):
    """The case's corroboration counted afresh, with why some support does not count:
    what the workflow's approval guard reads, whatever the stored counts say."""
    counts = (
        recount(type(case).objects.filter(pk=case.pk))
        .annotate(**_not_counted())
        .values(*RECOUNTED.values(), *NOT_COUNTED)
        .get()
    )
    return Corroboration(
        supporting_sources=counts[RECOUNTED["supporting_sources"]],
        refuting_sources=counts[RECOUNTED["refuting_sources"]],
        suggested_credibility=counts[RECOUNTED["suggested_credibility"]],
        minimum=settings.CORROBORATION_MIN,
        not_yet_graded=counts["not_yet_graded"],
        graded_by_creator=counts["graded_by_creator"],
    )
