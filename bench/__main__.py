"""`make bench`: build years of a busy team's data on PostgreSQL, measure the pages,
the digests, the reminders scan and evidence ingestion, each against its floor, print
a table and write the figures to a JSON file.

Runs against a database of its own (dropped and made anew) on the local PostgreSQL,
and Redis databases 14 (queue) and 12 (cache), so it never touches the demo's or the
tests' data.
"""

import argparse
import json
import os
import platform
import socket
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

TARGETS = {
    "page_p95_ms": 50,
    "page_ratio_p95": 2.0,
    "page_queries": 8,
    "digest_total_s": 30,
    "digest_peak_mb": 300,
    "reminders_ms": 200,
    "ingest_ratio": 1.2,
}


def parse_args():
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--evidence", type=int, default=500_000)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--ingest-mb", type=int, default=1024, help="size of the large file")
    parser.add_argument("--repeat", type=int, default=200, help="requests per page measured")
    parser.add_argument("--database", default="tracker_bench")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--output", default="bench-results.json")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the data set an earlier run built"
    )
    return parser.parse_args()


class CountingMailbox:
    """An SMTP server's handler that only counts what it accepts."""

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self._lock:
            self.count += 1
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
        results = run(args, workdir, smtp.handler)
    smtp.stop()

    Path(args.output).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_table(results)
    print(f"\nFigures written to {args.output}")


def run(args, workdir, smtp):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from bench import dataset, measure
    from config.celery import app
    from digests.models import DigestDelivery

    call_command("migrate", verbosity=0)
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
        # What autovacuum would have done on a live system: statistics for the planner
        # and a visibility map, so index-only scans stay index-only.
        cursor.execute("VACUUM ANALYZE")
    build_s = time.perf_counter() - start
    app.control.purge()

    reviewer = users["reviewer"]
    filters = "state=approved&supplier_country=KP&incident_from=2023-01-01"
    return {
        "machine": machine(),
        "dataset": {
            "cases": args.cases,
            "evidence_items": args.evidence,
            "sources": args.sources,
            "subscriptions": args.subscriptions,
            "build_s": round(build_s, 1),
        },
        "targets": TARGETS,
        "case_list": measure.page(
            reviewer, f"/cases/?{filters}&page_size=50&sort=-date", args.repeat
        ),
        # A place (one case in seven), and words most cases hold: search's worst case,
        # as every match is counted.
        "case_search": measure.page(reviewer, "/cases/?q=Kharkiv&page_size=50", args.repeat),
        "case_search_common_words": measure.page(
            reviewer, "/cases/?q=missile+debris&page_size=50", args.repeat
        ),
        "admin_changelist": measure.page(
            reviewer,
            "/admin/tracker/case/?state__exact=approved&transfer=KP-RU",
            args.repeat,
        ),
        "digests": measure.digest_run(
            smtp, dict(os.environ), timezone.localdate() + timedelta(days=1)
        ),
        "reminders_scan": measure.reminders_scan(args.repeat),
        "ingest": [
            measure.ingest(size, workdir)
            for size in sorted({max(args.ingest_mb // 8, 1), args.ingest_mb})
        ],
    }


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
    t = r["targets"]
    rows = []
    for name in ("case_list", "case_search", "case_search_common_words", "admin_changelist"):
        p = r[name]
        ok = (
            p["p95_ms"] <= t["page_p95_ms"]
            and p["ratio_p95"] <= t["page_ratio_p95"]
            and p["queries"] <= t["page_queries"]
        )
        rows.append(
            (
                name.replace("_", " "),
                f"median {p['median_ms']} ms, p95 {p['p95_ms']} ms, {p['queries']} queries",
                f"SQL p95 {p['floor_p95_ms']} ms",
                f"{p['ratio_p95']}×",
                f"p95 ≤ {t['page_p95_ms']} ms, ≤ {t['page_ratio_p95']}×, ≤ {t['page_queries']} q",
                verdict(ok),
            )
        )
    d = r["digests"]
    peak = d["worker_peak_rss_mb"]["max_process"]
    rows.append(
        (
            f"digests ({d['subscriptions']})",
            f"{d['total_s']} s, {d['per_digest_queries']} queries each, peak {peak} MB/process",
            f"SMTP {d['smtp_floor_s']} s",
            f"{d['ratio']}×",
            f"≤ {t['digest_total_s']} s, ≤ {t['digest_peak_mb']} MB",
            verdict(d["total_s"] <= t["digest_total_s"] and peak <= t["digest_peak_mb"]),
        )
    )
    s = r["reminders_scan"]
    rows.append(
        (
            "reminders scan",
            f"median {s['median_ms']} ms, p95 {s['p95_ms']} ms ({s['overdue_cases']} overdue)",
            f"SQL {s['floor_median_ms']} ms",
            f"{s['ratio_median']}×",
            f"≤ {t['reminders_ms']} ms",
            verdict(s["p95_ms"] <= t["reminders_ms"]),
        )
    )
    growths = [i["growth_mb"] for i in r["ingest"]]
    for i in r["ingest"]:
        flat = max(growths) - min(growths) < 16
        rows.append(
            (
                f"ingest {i['size_mb']} MB",
                f"{i['ingest_s']} s (best of 3), memory +{i['growth_mb']} MB",
                f"sha256sum {i['sha256sum_s']} s (best of 3)",
                f"{i['ratio']}×",
                f"≤ {t['ingest_ratio']}×, flat memory",
                verdict(i["ratio"] <= t["ingest_ratio"] and flat),
            )
        )
    headers = ("measure", "figure", "floor", "ratio", "target", "")
    widths = [max(len(str(row[n])) for row in [headers, *rows]) for n in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
