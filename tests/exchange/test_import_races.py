"""Two previews of one file confirmed at the same moment, on real PostgreSQL
connections: the file is imported once."""

import pytest

from exchange import imports
from exchange.models import ImportJob, Status
from tests.evidence.test_corroboration_races import overlap
from tests.exchange.import_files import csv_bytes, reference_data, row, run_import

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
