"""`python -m bench.imports`: import a file of 100,000 new cases (CSV, or XLSX with
``--xlsx``) on PostgreSQL, the preview and then the import, as the worker runs them,
and report rows a second and the process's peak memory (its whole resident set, Django
included), against IMPORT_PEAK_MB.

Runs in a database of its own (``tracker_bench_imports``, dropped and made anew) on the
local PostgreSQL, never the demo's or the tests' data. Not part of `make bench`, which
builds the pages' data set; see docs/benchmarks.md.
"""

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

from bench.memory import memory_mb

IMPORT_PEAK_MB = 300


def parse_args():
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--xlsx", action="store_true", help="an XLSX file instead of CSV")
    parser.add_argument("--database", default="tracker_bench_imports")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    return parser.parse_args()


def peak_mb():
    return memory_mb("VmHWM")


def write_file(path, rows, xlsx):
    """``rows`` new cases, each the template's example with its own title and id."""
    from exchange.template_file import HEADERS, example_row

    example = dict(zip(HEADERS, example_row(), strict=True))

    def cells(number):
        row = {**example, "external id": f"BENCH-{number}", "title": f"Debris no. {number}"}
        return [row[h] for h in HEADERS]

    if xlsx:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(HEADERS)
        for number in range(rows):
            sheet.append(cells(number))
        workbook.save(path)
        return
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADERS)
        for number in range(rows):
            writer.writerow(
                [v.isoformat() if hasattr(v, "isoformat") else v for v in cells(number)]
            )


def main():
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-bench-imports-") as workdir:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=f"{args.postgres}/{args.database}",
            DEBUG="0",
            SECRET_KEY="bench-only-not-a-secret",
            VAR_DIR=workdir,
            IMPORT_ROOT=str(Path(workdir) / "imports"),
            IMPORT_MAX_ROWS=str(max(args.rows, 100_000)),
            IMPORT_MAX_UPLOAD_MB="1024",
            IMPORT_MAX_UNPACKED_MB="4096",
            LOG_LEVEL="WARNING",
        )
        from bench.__main__ import recreate_database

        recreate_database(args)
        results = run(args, Path(workdir))
    print_results(args, results)
    failed = results["peak_mb"] > IMPORT_PEAK_MB or results["applied"] != args.rows
    return 1 if failed else 0


def run(args, workdir):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.files.uploadedfile import UploadedFile
    from django.core.management import call_command

    from exchange import imports
    from exchange.models import ImportJob
    from tracker import roles
    from tracker.models import SanctionsProvision, WeaponSystem

    call_command("migrate", verbosity=0)
    monitor = get_user_model().objects.create_user("bench-importer")
    monitor.groups.add(Group.objects.get(name=roles.MONITOR))
    # The reference values the template's example names (the demo's).
    WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")
    SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a), (b)", summary="-")
    SanctionsProvision.objects.create(resolution="1874 (2009)", paragraph="9", summary="-")
    path = workdir / ("cases.xlsx" if args.xlsx else "cases.csv")
    write_file(path, args.rows, args.xlsx)
    before = peak_mb()
    with open(path, "rb") as file:
        job = imports.start(monitor, UploadedFile(file, path.name, size=path.stat().st_size))
    started = time.monotonic()
    imports.preview(job.pk)
    preview_s = time.monotonic() - started
    job.refresh_from_db()
    assert job.may_confirm, job.message or job.results.exclude(action="create").first()
    imports.confirm(job, monitor)
    started = time.monotonic()
    imports.apply(job.pk)
    apply_s = time.monotonic() - started
    job = ImportJob.objects.get(pk=job.pk)
    return {
        "rows": args.rows,
        "file_mb": path.stat().st_size / 2**20,
        "preview_s": preview_s,
        "apply_s": apply_s,
        "applied": job.created if job.status == "applied" else 0,
        "peak_before_mb": before,
        "peak_mb": peak_mb(),
    }


def print_results(args, r):
    kind = "XLSX" if args.xlsx else "CSV"
    print(f"Import of {r['rows']:,} new cases from {kind} ({r['file_mb']:.1f} MB), PostgreSQL:")
    print(f"  preview: {r['preview_s']:.1f} s, {r['rows'] / r['preview_s']:,.0f} rows/s")
    print(f"  import:  {r['apply_s']:.1f} s, {r['rows'] / r['apply_s']:,.0f} rows/s")
    print(f"  cases imported: {r['applied']:,}")
    print(
        f"  peak memory (whole process): {r['peak_mb']:.0f} MB "
        f"(before the import: {r['peak_before_mb']:.0f} MB; at most {IMPORT_PEAK_MB})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
