"""Two previews of one file confirmed at the same moment, on real PostgreSQL
connections: the file is imported once."""

import threading

import pytest
from django.db import connection, transaction

from evidence.models import Source
from exchange import imports
from exchange.models import ImportJob, Status
from tests import factories
from tests.concurrency import WAIT, run_in_thread
from tests.conftest import wait_until
from tests.evidence.test_corroboration_races import overlap, regrade, stale
from tests.exchange.import_files import csv_bytes, reference_data, row, run_import
from tracker.models import Case

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_previews_of_one_file_confirmed_at_once_import_it_once(monitor):
    reference_data()
    data = csv_bytes([row()])
    first, second = (run_import(monitor, data, confirm=False) for _ in range(2))
    refusals = []

    def confirm_second():
        try:
            imports.confirm(second, monitor)
        except imports.StalePreview as refusal:
            refusals.append(str(refusal))

    overlap(lambda: imports.confirm(first, monitor), confirm_second)

    assert len(refusals) == 1
    assert refusals[0].startswith(f"You imported this same file as import {first.pk}")
    assert list(ImportJob.objects.filter(status=Status.APPLY_QUEUED)) == [first]


def waiting_for_locks():
    """How many of this database's connections wait for a lock now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_an_import_and_a_regrading_of_a_source_its_cases_cite_both_go_through(
    case_factory, monitor, reviewer
):
    """The file names a source's cases in another order than the regrading locks them
    (by id): each must wait for the other, never both for each other."""
    reference_data()
    source = factories.SourceFactory(name="Panel of Experts", reliability="B")
    first, middle, last = (case_factory() for _ in range(3))
    for case in (first, last):
        factories.EvidenceItemFactory(case=case, source=source)
    rows = [
        row(reference=case.reference, title=f"{case.title}, corrected")
        for case in (last, middle, first)
    ]
    job = run_import(monitor, csv_bytes(rows), confirm=False)
    assert job.may_confirm and imports.confirm(job, monitor)

    # Someone holds the middle case, so the import stops there with the last case
    # locked, while the regrading locks the first case and then waits for the last.
    holding, release = threading.Event(), threading.Event()

    def hold_the_middle_case():
        with transaction.atomic():
            Case.objects.select_for_update(no_key=True).get(pk=middle.pk)
            holding.set()
            release.wait(timeout=WAIT)

    holder, _ = run_in_thread(hold_the_middle_case)
    assert holding.wait(timeout=WAIT)
    importer, imported = run_in_thread(lambda: imports.apply(job.pk))
    wait_until(lambda: waiting_for_locks() == 1)
    grader, graded = run_in_thread(lambda: regrade(source.pk, "E", reviewer))
    wait_until(lambda: waiting_for_locks() == 2)
    release.set()
    for thread in (holder, importer, grader):
        thread.join(timeout=WAIT)

    assert (imported.get("error"), graded.get("error")) == (None, None)
    job.refresh_from_db()
    assert job.status == Status.APPLIED and job.updated == 3
    assert Source.objects.get(pk=source.pk).reliability == "E"
    assert stale(first) == {} and stale(last) == {}
