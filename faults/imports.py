"""An import confirmed and queued for the import-worker-kill scenario: run by the
harness as ``python -m faults.imports ROWS`` against its own PostgreSQL (DATABASE_URL)
and IMPORT_ROOT; writes a CSV of ROWS new cases, previews it here and confirms it, so
the workers find its ``apply_import`` task on the queue. Prints the job's id as JSON."""

import csv
import io
import json
import sys

import django

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402

from exchange import imports, tasks  # noqa: E402
from exchange.template_file import HEADERS, example_row  # noqa: E402
from faults.race import user  # noqa: E402
from tracker import roles  # noqa: E402
from tracker.models import SanctionsProvision, WeaponSystem  # noqa: E402


def main(rows):
    monitor = user("import-monitor", roles.MONITOR)
    WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")
    SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a), (b)", summary="-")
    SanctionsProvision.objects.create(resolution="1874 (2009)", paragraph="9", summary="-")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    example = dict(zip(HEADERS, example_row(), strict=True))
    for number in range(rows):
        cells = {**example, "external id": f"FAULT-{number}", "title": f"Debris no. {number}"}
        writer.writerow([cells[h] for h in HEADERS])
    job = imports.start(monitor, SimpleUploadedFile("faults.csv", text.getvalue().encode()))
    imports.preview(job.pk)
    job.refresh_from_db()
    assert job.may_confirm, job.message
    imports.confirm(job, monitor)
    tasks.apply_import.delay(job.pk)
    json.dump({"job": job.pk}, sys.stdout)


if __name__ == "__main__":
    main(int(sys.argv[1]))
