"""`make bench`: build years of a busy team's data on PostgreSQL, measure the pages,
the digests, the reminders scan and evidence ingestion, each against its floor, print
a table and write the figures to a JSON file.

Runs against a database of its own (dropped and made anew) on the local PostgreSQL,
and Redis databases 14 (queue) and 12 (cache), so it never touches the demo's or the
tests' data. With ``--compare REV`` the pages are also served by another commit's code,
checked out in a temporary folder, in turns with this code's on the same data.
"""

import argparse
import itertools
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {
    "page_p95_ms": 50,
    "page_queries": 8,
    # With --compare: this code's p95 over the other commit's, and no more queries.
    "compare_p95_ratio": 1.25,
    # A digest's whole cost (fan-out, composing, bookkeeping, sending) per message,
    # against raw smtplib's per message of the same sizes to the same server.
    "digest_ratio": 2,
    "digest_peak_mb": 300,
    # The workers' peak memory at the largest run over the smallest's.
    "digest_peak_growth_mb": 16,
    "reminders_ms": 200,
    # Ingest against hashlib (in process) over the same file's bytes.
    "ingest_ratio": 1.25,
    # The integrity check: one worker's MB/s against hashlib's reading and hashing the
    # same files in process, and two workers' against one's.
    "integrity_one_worker_ratio": 0.8,
    "integrity_two_workers_ratio": 1.8,
    # The API's case list: a JSON page has no template to hide behind.
    "api_p95_ms": 30,
    "api_queries": 4,
    "api_sql_ratio": 2,
    # A page deep in the list (by cursor) against the first.
    "api_deep_ratio": 1.25,
    # Exporting every case against a tenth of them: the process grows no more.
    "export_flat_mb": 16,
    # The case list's page 1,500 (by cursor) and the admin's deepest page against
    # their first pages.
    "deep_ratio": 1.25,
    # A search for words most cases hold against one for a place.
    "common_words_ratio": 1.5,
    # A list dossier of --dossier-cases cases (100) as PDF, made whole.
    "dossier_pdf_s": 30,
}
EXPORT_FORMATS = ("csv", "xlsx")
MEASURES = (
    "pages",
    "api",
    "deep",
    "dossier",
    "digests",
    "reminders",
    "ingest",
    "integrity",
    "exports",
)
PAGE_MEASURES = ("pages", "api", "deep", "dossier")
# What may cost more as the archive grows: measured at each size of a growth run. The
# files a store holds, and an export of every case, grow with it by nature.
ARCHIVE_MEASURES = (*PAGE_MEASURES, "digests", "reminders")
# A growth run's target: each figure at the largest size against the next largest.
GROWTH_RATIO = 1.25


def counts(text):
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError(f"each size must be at least 1: {text!r}")
    return numbers


def parse_args():
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--evidence", type=int, help="evidence items in all (default: five a case)")
    parser.add_argument(
        "--sizes",
        type=counts,
        metavar="N,N",
        help="a growth run: build a data set of each of these numbers of cases (database "
        "DATABASE_N, five evidence items a case), measure what depends on the archive's "
        "size at each, print every figure at each size and the growth ratios; then the "
        "rest once, on the data set nearest 100,000 cases",
    )
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument(
        "--digest-subscriptions",
        type=counts,
        metavar="N,N",
        help="measure a digest run of each of these sizes (subscriptions are added to the "
        "data set as needed; the first N are active in each run); default: --subscriptions",
    )
    parser.add_argument("--ingest-mb", type=int, default=1024, help="size of the large file")
    parser.add_argument(
        "--store-mb", type=int, default=2048, help="size of the store the integrity check hashes"
    )
    parser.add_argument("--repeat", type=int, default=200, help="requests per page measured")
    parser.add_argument(
        "--dossier-cases", type=int, default=100, help="cases in the list dossier measured"
    )
    parser.add_argument("--database", default="tracker_bench")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--output", default="bench-results.json")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the data set an earlier run built"
    )
    parser.add_argument(
        "--compare",
        metavar="REV",
        help="also serve the pages with the code of this commit (its migrations must match "
        "this code's), in turns with this code's, and print both and their ratio",
    )
    parser.add_argument(
        "--digests-only",
        action="store_true",
        help="measure the digest runs only, not the pages, the reminders scan or ingestion",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=MEASURES,
        help="measure only this (repeat for more than one)",
    )
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="measure the pages only, not the digests, the reminders scan or ingestion",
    )
    parser.add_argument(
        "--api-only",
        action="store_true",
        help="measure the API's case list only (first and deep page), no other page",
    )
    args = parser.parse_args()
    if args.evidence is None:
        args.evidence = 5 * args.cases
    shorthands = [
        (args.pages_only, PAGE_MEASURES),
        (args.api_only, ("api",)),
        (args.digests_only, ("digests",)),
    ]
    args.wanted = set(args.only or ())
    for given, measures in shorthands:
        if given:
            args.wanted.update(measures)
    args.wanted = args.wanted or set(MEASURES)
    return args


# The pages measured, as a reviewer. A place (one case in seven), and words most
# cases hold: search's worst case, as every match is counted.
PAGES = {
    "case_list": "/cases/?state=approved&supplier_country=KP&incident_from=2023-01-01"
    "&page_size=50&sort=-date",
    "case_search": "/cases/?q=Kharkiv&page_size=50",
    "case_search_common_words": "/cases/?q=missile+debris&page_size=50",
    # The sidebar's state and supplier → recipient filters.
    "admin_changelist": "/admin/tracker/case/?state__exact=approved&transfer=KP-RU",
}
# The API's case list as a reviewer's API token reads it: the case list's filters, 50 a
# page; and the same list from a cursor this many cases deep.
API_PAGES = {"api_case_list": PAGES["case_list"].replace("/cases/", "/api/v1/cases/")}
API_DEEP_CASES = 10_000
# The unfiltered case list, 25 a page, and its page 1,500 (0.27 s by OFFSET at 100,000
# cases), reached by the cursor of its "Next" link; the admin's unfiltered changelist
# and the deepest page it offers (CaseAdmin.max_pages).
DEEP_PAGES = {
    "case_list_unfiltered": "/cases/?page_size=25",
    "admin_changelist_unfiltered": "/admin/tracker/case/",
}
DEEP_PAGE = 1_500


def git(*args):
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


@contextmanager
def checkout(rev):
    """The code of ``rev`` in a temporary folder (a detached git worktree), removed
    afterwards. Its migrations must be this code's: both codes read the same data."""
    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    differing = git("diff", "--name-only", sha, "--", ":(glob)**/migrations/**")
    if differing:
        raise SystemExit(
            f"--compare {rev}: its migrations differ from this code's, so it cannot read "
            f"the same data:\n{differing}"
        )
    with tempfile.TemporaryDirectory(prefix="tracker-bench-compare-") as parent:
        directory = Path(parent) / "code"
        git("worktree", "add", "--detach", str(directory), sha)
        try:
            yield sha, directory
        finally:
            git("worktree", "remove", "--force", str(directory))


class CountingMailbox:
    """An SMTP server's handler that only counts what it accepts, and the size of
    each message (for the floor to send as much)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.count = 0
            self.sizes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self._lock:
            self.count += 1
            self.sizes.append(len(envelope.content))
        return "250 OK"


def configure(args, workdir, smtp_port):
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"{args.postgres}/{args.database}",
        REDIS_URL=args.redis_url,
        CACHE_URL=args.cache_url,
        DEBUG="0",
        SECRET_KEY="bench-only-not-a-secret",
        ALLOWED_HOSTS="testserver,localhost",
        SECURE_SSL_REDIRECT="0",
        # The measured users sign in without a second factor; a verified one adds the
        # lookup of its device to each request.
        REQUIRE_2FA="0",
        # Thousands of API requests a minute from one token: measured, not throttled.
        API_RATE_LIMIT="1000000/minute",
        VAR_DIR=str(workdir),
        EVIDENCE_ROOT=str(Path(workdir) / "evidence"),
        EVIDENCE_MAX_UPLOAD_MB=str(2 * args.ingest_mb + 1),
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="0",
        LOG_LEVEL="WARNING",
    )


def recreate_database(args):
    import psycopg

    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')


def main():
    args = parse_args()
    if args.sizes:
        results = growth(args)
        Path(args.output).write_text(json.dumps(results, indent=2, default=str) + "\n")
        print_growth(results)
        print(f"\nFigures written to {args.output}")
        return
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    smtp = Controller(CountingMailbox(), hostname="127.0.0.1", port=port)
    smtp.start()
    smtp.handler.host, smtp.handler.port = "127.0.0.1", port

    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as workdir:
        configure(args, workdir, smtp.handler.port)
        if not args.reuse:
            recreate_database(args)
        if args.compare:
            with checkout(args.compare) as other:
                results = run(args, workdir, smtp.handler, other)
        else:
            results = run(args, workdir, smtp.handler)
    smtp.stop()

    Path(args.output).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_table(results)
    print(f"\nFigures written to {args.output}")


def growth(args):
    """Each size's data set built and measured by a run of its own (one process each,
    so nothing one leaves behind weighs on the next), then what does not depend on the
    archive's size, once, on the data set nearest 100,000 cases."""
    passed = ["--sources", str(args.sources), "--subscriptions", str(args.subscriptions)]
    passed += ["--repeat", str(args.repeat), "--dossier-cases", str(args.dossier_cases)]
    passed += ["--ingest-mb", str(args.ingest_mb), "--store-mb", str(args.store_mb)]
    passed += ["--postgres", args.postgres, "--redis-url", args.redis_url]
    passed += ["--cache-url", args.cache_url]
    if args.digest_subscriptions:
        passed += ["--digest-subscriptions", ",".join(map(str, args.digest_subscriptions))]
    results = {"targets": {**TARGETS, "growth_ratio": GROWTH_RATIO}, "sizes": {}}
    archive = [m for m in MEASURES if m in args.wanted and m in ARCHIVE_MEASURES]
    rest = [m for m in MEASURES if m in args.wanted and m not in ARCHIVE_MEASURES]
    with tempfile.TemporaryDirectory(prefix="tracker-bench-growth-") as folder:

        def child(size, measures, reuse):
            output = Path(folder) / f"{size}-{len(results['sizes'])}.json"
            command = [sys.executable, "-m", "bench", "--cases", str(size)]
            command += ["--evidence", str(5 * size), "--database", f"{args.database}_{size}"]
            command += [*passed, "--output", str(output)]
            command += ["--reuse"] * reuse + [f"--only={m}" for m in measures]
            print(f"\n== {size:,} cases: {', '.join(measures)}", flush=True)
            subprocess.run(command, cwd=ROOT, check=True)
            return json.loads(output.read_text())

        for size in sorted(set(args.sizes)):
            results["sizes"][size] = child(size, archive, args.reuse) if archive else {}
        if rest:
            nearest = min(results["sizes"], key=lambda size: abs(size - 100_000))
            # Its data set was built above, unless no measure needed one.
            reuse = args.reuse or bool(archive)
            results["once"] = {"cases": nearest, **child(nearest, rest, reuse)}
    return results


def run(args, workdir, smtp, other=None):
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from bench import dataset, measure
    from config.celery import app
    from digests.models import DigestDelivery

    wanted = args.wanted
    calibration = measure.calibration()
    print(calibration_line(calibration), flush=True)
    call_command("migrate", verbosity=0)
    if wanted & {"pages", "deep", "dossier"}:
        # As in production: hashed static files, which the HTML pages name.
        call_command("collectstatic", interactive=False, verbosity=0)
    start = time.perf_counter()
    if args.reuse:
        users = dataset.users()
        DigestDelivery.objects.all().delete()
    else:
        users = dataset.build(
            cases=args.cases,
            evidence=args.evidence,
            sources=args.sources,
            subscriptions=args.subscriptions,
        )
        with connection.cursor() as cursor:
            # The search triggers rewrote each case as its weapon system and evidence
            # arrived, leaving the table three times its size in dead rows all at once;
            # a live table reuses such space as it goes.
            cursor.execute("VACUUM FULL tracker_case")
            # What autovacuum would have done on a live system: statistics for the
            # planner and a visibility map, so index-only scans stay index-only.
            cursor.execute("VACUUM ANALYZE")
    build_s = time.perf_counter() - start
    app.control.purge()
    # The sizes share one cache: what was kept for another data set must not be read as
    # this one's (a list's count is kept under its SQL, which is the same at each size).
    cache.clear()

    results = {
        "machine": machine(),
        "calibration": calibration,
        "dataset": {
            "cases": args.cases,
            "evidence_items": args.evidence,
            "sources": args.sources,
            "subscriptions": args.subscriptions,
            "build_s": round(build_s, 1),
            "reused": args.reuse,
        },
        "targets": TARGETS,
    }
    results.update(measure_pages(args, users["reviewer"], other))
    if "dossier" in wanted:
        results["dossier_pdf"] = measure.dossier_pdf(
            users["reviewer"], args.dossier_cases, min(args.repeat, 3)
        )
    if "digests" in wanted:
        results["digests"] = [
            measure.digest_run(smtp, dict(os.environ), timezone.localdate() + timedelta(days=1), n)
            for n in args.digest_subscriptions or [args.subscriptions]
        ]
    if "reminders" in wanted:
        results["reminders_scan"] = measure.reminders_scan(args.repeat)
    results.update(measure_files(args, workdir, wanted))
    if "exports" in wanted:
        results["exports"] = measure.export(
            EXPORT_FORMATS,
            sorted({max(args.cases // 10, 1), args.cases}),
            users["reviewer"].get_username(),
            workdir,
        )
    return results


def measure_pages(args, reviewer, other):
    """The pages, the API's and the deep ones, each served by a process of its own
    (and by ``other``'s code too, for the pages that another commit also has)."""
    from bench import measure

    wanted = args.wanted
    if not wanted & {"pages", "api", "deep"}:
        return {}
    codes = [measure.Code("this", ROOT)]
    if other and "pages" in wanted:
        codes.append(measure.Code(other[0][:10], other[1]))
    results = {}
    try:
        if "pages" in wanted:
            pages = {
                name: measure.pages(reviewer, url, codes, args.repeat)
                for name, url in PAGES.items()
            }
            results.update({name: figures[0] for name, figures in pages.items()})
            if other:
                results["compare"] = {
                    "rev": other[0],
                    **{name: figures[1] for name, figures in pages.items()},
                }
        if "api" in wanted:
            results.update(api_measures(reviewer, codes[0], args.repeat))
        if "deep" in wanted:
            results.update(deep_measures(reviewer, codes[0], args.repeat))
    finally:
        for code in codes:
            code.close()
    return results


def measure_files(args, workdir, wanted):
    """Ingest and the integrity check, each against hashlib over the same bytes."""
    from bench import measure

    results = {}
    if "ingest" in wanted:
        results["ingest"] = [
            measure.ingest(size, workdir)
            for size in sorted({max(args.ingest_mb // 8, 1), args.ingest_mb})
        ]
    if "integrity" in wanted:
        results["integrity"] = measure.integrity(args.store_mb, workdir, dict(os.environ))
    return results


def api_measures(reviewer, code, repeat):
    """The API's case list, first page and deep, with the reviewer's API token (this
    code only: another commit may have no API)."""
    from api.models import ApiToken, Scope
    from bench import measure

    _, token = ApiToken.issue(reviewer, "bench", Scope.READ)
    url = API_PAGES["api_case_list"]
    deep_url, depth = measure.deep_cursor(url, API_DEEP_CASES)
    first = measure.pages(reviewer, url, [code], repeat, token=token)[0]
    deep = measure.pages(reviewer, deep_url, [code], repeat, token=token)[0]
    return {"api_case_list": first, "api_case_list_deep": {**deep, "depth": depth}}


def deep_measures(reviewer, code, repeat):
    """The unfiltered case list's first page and its page 1,500, the admin's unfiltered
    changelist and its deepest page (this code only: another commit's list may take
    no cursor)."""
    from bench import measure

    list_url = DEEP_PAGES["case_list_unfiltered"]
    admin_url = DEEP_PAGES["admin_changelist_unfiltered"]
    deep_list, depth = measure.deep_list_page(reviewer, list_url, DEEP_PAGE)
    deep_admin, admin_page = measure.deepest_admin_page(reviewer, admin_url)
    figures = {}
    for name, url in [
        ("case_list_unfiltered", list_url),
        ("case_list_deep", deep_list),
        ("admin_changelist_unfiltered", admin_url),
        ("admin_changelist_deep", deep_admin),
    ]:
        figures[name] = measure.pages(reviewer, url, [code], repeat)[0]
    figures["case_list_deep"]["depth"] = depth
    figures["admin_changelist_deep"]["page"] = admin_page
    return figures


def calibration_line(c):
    return (
        f"calibration: SHA-256 {c['sha256_mb_s']} MB/s (in process, 256 MiB), "
        f"SQL probe {c['sql_probe_ms']} ms ({c['sql_probe']}, best of 3)"
    )


def machine():
    with open("/proc/meminfo") as meminfo:
        memory_kb = int(meminfo.readline().split()[1])
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    from django.db import connection

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024**2, 1),
        "python": platform.python_version(),
        "postgresql": connection.cursor().connection.info.server_version,
        "date": time.strftime("%Y-%m-%d"),
    }


def verdict(ok):
    return "ok" if ok else "MISSED"


def print_table(r):
    print(calibration_line(r["calibration"]))
    t = r["targets"]
    rows = []
    for name in [name for name in PAGES if name in r]:
        p = r[name]
        rows.append(
            (
                name.replace("_", " "),
                f"median {p['median_ms']} ms, p95 {p['p95_ms']} ms, {p['queries']} queries",
                f"SQL p95 {p['floor_p95_ms']} ms",
                f"p95 ≤ {t['page_p95_ms']} ms, ≤ {t['page_queries']} q",
                verdict(p["p95_ms"] <= t["page_p95_ms"] and p["queries"] <= t["page_queries"]),
            )
        )
    if "api_case_list" in r:
        rows += api_rows(r)
    if "case_list_deep" in r:
        rows += deep_rows(r)
    if "dossier_pdf" in r:
        d = r["dossier_pdf"]
        rows.append(
            (
                f"dossier PDF ({d['cases']} cases)",
                f"median {d['median_s']} s, best {d['best_s']} s, {d['queries']} queries",
                f"{d['pages']} pages, {d['evidence_items']} items, {d['bytes'] // 1024} KiB",
                f"≤ {t['dossier_pdf_s']} s",
                verdict(d["median_s"] <= t["dossier_pdf_s"]),
            )
        )
    if "digests" in r:
        rows += digest_rows(r)
    if "reminders_scan" in r:
        rows += other_rows(r)
    rows += file_rows(r)
    print_rows(("measure", "figure", "SQL or floor", "target", ""), rows)
    if "compare" in r:
        print()
        print_comparison(r)


def api_rows(r):
    t = r["targets"]
    first, deep = r["api_case_list"], r["api_case_list_deep"]
    rows = []
    for label, p in [("API case list", first), (f"API case list, {deep['depth']} deep", deep)]:
        sql_ratio = p["p95_ms"] / p["floor_p95_ms"]
        rows.append(
            (
                label,
                f"median {p['median_ms']} ms, p95 {p['p95_ms']} ms, {p['queries']} queries",
                f"SQL p95 {p['floor_p95_ms']} ms ({sql_ratio:.2f}×)",
                f"p95 ≤ {t['api_p95_ms']} ms, ≤ {t['api_queries']} q, ≤ {t['api_sql_ratio']}× SQL",
                verdict(
                    p["p95_ms"] <= t["api_p95_ms"]
                    and p["queries"] <= t["api_queries"]
                    and sql_ratio <= t["api_sql_ratio"]
                ),
            )
        )
    deep_ratio = deep["p95_ms"] / first["p95_ms"]
    rows.append(
        (
            "API deep page / first",
            f"p95 {deep_ratio:.2f}×, {deep['queries']} / {first['queries']} queries",
            "",
            f"≤ {t['api_deep_ratio']}×, the same queries",
            verdict(deep_ratio <= t["api_deep_ratio"] and deep["queries"] == first["queries"]),
        )
    )
    return rows


def deep_rows(r):
    t = r["targets"]
    rows = []
    list_deep, admin_deep = r["case_list_deep"], r["admin_changelist_deep"]
    for label, first, deep in [
        (
            f"case list, {list_deep['depth']:,} cases deep (cursor)",
            r["case_list_unfiltered"],
            list_deep,
        ),
        (
            f"admin changelist, page {admin_deep['page']}",
            r["admin_changelist_unfiltered"],
            admin_deep,
        ),
    ]:
        ratio = deep["p95_ms"] / first["p95_ms"]
        rows.append(
            (
                label,
                f"median {deep['median_ms']} ms, p95 {deep['p95_ms']} ms, {deep['queries']} q; "
                f"first page p95 {first['p95_ms']} ms, {first['queries']} q",
                f"SQL p95 {deep['floor_p95_ms']} ms",
                f"p95 ≤ {t['deep_ratio']}× the first page's ({ratio:.2f}×), the same queries",
                verdict(ratio <= t["deep_ratio"] and deep["queries"] == first["queries"]),
            )
        )
    if "case_search" not in r:
        return rows
    common, place = r["case_search_common_words"], r["case_search"]
    ratio = common["p95_ms"] / place["p95_ms"]
    rows.append(
        (
            "search, common words / a place",
            f"p95 {ratio:.2f}×",
            f"SQL p95 {common['floor_p95_ms'] / place['floor_p95_ms']:.2f}×",
            f"≤ {t['common_words_ratio']}×",
            verdict(ratio <= t["common_words_ratio"]),
        )
    )
    return rows


def digest_rows(r):
    t = r["targets"]
    rows = []
    for d in r["digests"]:
        peak = d["worker_peak_rss_mb"]["max_process"]
        rows.append(
            (
                f"digests ({d['subscriptions']:,})",
                f"{d['total_s']} s, {d['per_message_ms']} ms a message "
                f"({d['mean_message_kb']} KB), peak {peak} MB/process",
                f"SMTP {d['smtp_floor_per_message_ms']} ms a message ({d['ratio']}×)",
                f"≤ {t['digest_ratio']}× SMTP, ≤ {t['digest_peak_mb']} MB",
                verdict(d["ratio"] <= t["digest_ratio"] and peak <= t["digest_peak_mb"]),
            )
        )
    if len(r["digests"]) > 1:
        smallest, largest = r["digests"][0], r["digests"][-1]
        growth = (
            largest["worker_peak_rss_mb"]["max_process"]
            - smallest["worker_peak_rss_mb"]["max_process"]
        )
        rows.append(
            (
                f"digest memory, {smallest['subscriptions']:,} → {largest['subscriptions']:,}",
                f"peak +{round(growth, 1)} MB/process",
                "",
                f"≤ +{t['digest_peak_growth_mb']} MB (flat)",
                verdict(growth <= t["digest_peak_growth_mb"]),
            )
        )
    return rows


def other_rows(r):
    t = r["targets"]
    rows = []
    s = r["reminders_scan"]
    rows.append(
        (
            "reminders scan",
            f"median {s['median_ms']} ms, p95 {s['p95_ms']} ms ({s['overdue_cases']} overdue)",
            f"SQL {s['floor_median_ms']} ms ({s['ratio_median']}×)",
            f"≤ {t['reminders_ms']} ms",
            verdict(s["p95_ms"] <= t["reminders_ms"]),
        )
    )
    return rows


def file_rows(r):
    t = r["targets"]
    rows = []
    growths = [i["growth_mb"] for i in r.get("ingest", ())]
    for i in r.get("ingest", ()):
        flat = max(growths) - min(growths) < 16
        rows.append(
            (
                f"ingest {i['size_mb']} MB",
                f"{i['ingest_s']} s (best of 3), memory +{i['growth_mb']} MB",
                f"hashlib {i['hashlib_s']} s ({i['ratio']}×; sha256sum {i['sha256sum_s']} s); "
                f"CPU / hashlib's: all threads {i['cpu_ratio']}×, "
                f"the request's {i['main_thread_cpu_ratio']}×",
                f"≤ {t['ingest_ratio']}×, flat memory",
                verdict(i["ratio"] <= t["ingest_ratio"] and flat),
            )
        )
    if "integrity" in r:
        g = r["integrity"]
        one, two = g["workers_1"], g["workers_2"]
        rows.append(
            (
                f"integrity check, 1 worker ({g['store_mb']} MB)",
                f"{one['seconds']} s, {one['mb_s']} MB/s, {one['chunks']} chunks",
                f"hashlib {g['hashlib_s']} s, {g['hashlib_mb_s']} MB/s ({g['one_worker_ratio']}×); "
                f"CPU {one['cpu_s']} s / hashlib's {g['hashlib_cpu_s']} s",
                f"≥ {t['integrity_one_worker_ratio']}× hashlib's MB/s",
                verdict(g["one_worker_ratio"] >= t["integrity_one_worker_ratio"]),
            )
        )
        rows.append(
            (
                "integrity check, 2 workers",
                f"{two['seconds']} s, {two['mb_s']} MB/s, CPU {two['cpu_s']} s, "
                f"peak {two['peak_rss_mb']} MB/process",
                f"1 worker {one['mb_s']} MB/s ({g['two_workers_ratio']}×)",
                f"≥ {t['integrity_two_workers_ratio']}× one worker's MB/s",
                verdict(g["two_workers_ratio"] >= t["integrity_two_workers_ratio"]),
            )
        )
    if "exports" in r:
        rows += export_rows(r)
    return rows


def export_rows(r):
    t = r["targets"]
    rows = []
    for format in EXPORT_FORMATS:
        runs = [e for e in r["exports"] if e["format"] == format]
        growths = [e["growth_mb"] for e in runs]
        flat = max(growths) - min(growths) <= t["export_flat_mb"]
        for e in runs:
            rows.append(
                (
                    f"export {format} {e['cases']:,} cases",
                    f"{e['seconds']} s, {e['mb']} MB, {e['queries']} queries, "
                    f"memory +{e['growth_mb']} MB",
                    f"{round(e['cases'] / e['seconds']):,} cases/s",
                    f"flat memory (±{t['export_flat_mb']} MB)",
                    verdict(flat),
                )
            )
    return rows


def print_comparison(r):
    """Each page under this code and under the other commit's, measured in turns."""
    other = r["compare"]
    limit = r["targets"]["compare_p95_ratio"]
    rows = []
    for name in [name for name in PAGES if name in other]:
        this, that = r[name], other[name]
        ratio = this["p95_ms"] / that["p95_ms"]
        rows.append(
            (
                name.replace("_", " "),
                f"{this['median_ms']} / {this['p95_ms']} ms, {this['queries']} q",
                f"{that['median_ms']} / {that['p95_ms']} ms, {that['queries']} q",
                f"{this['median_ms'] / that['median_ms']:.2f}× / {ratio:.2f}×",
                verdict(ratio <= limit and this["queries"] <= that["queries"]),
            )
        )
    print_rows(
        (
            "page",
            "this code: median / p95",
            f"{other['rev'][:10]}: median / p95",
            "ratio median / p95",
            f"p95 ≤ {limit}×, no more queries",
        ),
        rows,
    )


def growth_figures(r):
    """A run's figures that a growth run compares: (measure, unit, figure, queries)."""
    pages = [*PAGES, *API_PAGES, "api_case_list_deep", *DEEP_PAGES]
    pages += ["case_list_deep", "admin_changelist_deep"]
    for name in pages:
        if name in r:
            yield name.replace("_", " "), "p95 ms", r[name]["p95_ms"], r[name]["queries"]
    if "dossier_pdf" in r:
        d = r["dossier_pdf"]
        yield f"dossier PDF ({d['cases']} cases)", "median s", d["median_s"], d["queries"]
    for d in r.get("digests", ()):
        label = f"digests ({d['subscriptions']:,})"
        yield f"{label}, a message", "ms", d["per_message_ms"], d["per_digest_queries"]
        yield f"{label}, peak memory", "MB", d["worker_peak_rss_mb"]["max_process"], None
    if "reminders_scan" in r:
        yield "reminders scan", "p95 ms", r["reminders_scan"]["p95_ms"], None


def growth_rows(results):
    """Each measure at each size, each size's figure over the one before, and the
    verdict: the largest size within ``GROWTH_RATIO`` of the next, with as many queries."""
    sizes = sorted(results["sizes"])
    figures = {size: list(growth_figures(results["sizes"][size])) for size in sizes}
    rows = []
    for n, (label, unit, _, _) in enumerate(figures[sizes[0]]):
        values = [figures[size][n][2] for size in sizes]
        queries = [figures[size][n][3] for size in sizes]
        ratios = [later / earlier for earlier, later in itertools.pairwise(values) if earlier]
        same_queries = len(set(queries[-2:])) == 1
        ok = len(sizes) < 2 or (ratios and ratios[-1] <= GROWTH_RATIO and same_queries)
        rows.append(
            (
                f"{label} ({unit})",
                *(f"{value:,}" for value in values),
                ", ".join(f"{ratio:.2f}×" for ratio in ratios),
                " / ".join("-" if q is None else str(q) for q in queries),
                verdict(ok),
            )
        )
    return sizes, rows


def print_growth(results):
    sizes, rows = growth_rows(results)
    first = results["sizes"][sizes[0]]
    if "calibration" in first:
        print()
        print(calibration_line(first["calibration"]))
    steps = ", ".join(f"{later:,}/{earlier:,}" for earlier, later in itertools.pairwise(sizes))
    headers = ("measure", *(f"{size:,} cases" for size in sizes), f"growth ({steps})")
    headers += ("queries", f"≤ {GROWTH_RATIO}× at the largest, the same queries")
    if rows:
        print_rows(headers, rows)
    if "once" in results:
        print(f"\nOnce, on the data set of {results['once']['cases']:,} cases:")
        print_table(results["once"])


def print_rows(headers, rows):
    widths = [max(len(str(row[n])) for row in [headers, *rows]) for n in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
