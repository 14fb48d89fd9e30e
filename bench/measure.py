"""The benchmark's measurements, each against its floor measured in the same run."""

import hashlib
import json
import os
import re
import shutil
import smtplib
import statistics
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from digests import weekly
from digests.models import DigestDelivery, Subscription
from digests.tasks import enqueue_digests
from mailer.models import DeliveryStatus
from tracker import reminders


def percentiles(samples_ms):
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2)}


def timed(fn, repeat):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def bare(sql):
    """The query itself, without the server-side cursor Django may declare for it."""
    return re.sub(r'^DECLARE "\w+" NO SCROLL CURSOR WITH(OUT)? HOLD FOR ', "", sql)


def run_sql(statements):
    """The bare SQL, through the same connection, rows fetched."""
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            if cursor.description:
                cursor.fetchall()


class Code:
    """A checkout of the project's code serving pages in a process of its own
    (bench/page_worker.py), on the benchmark's database and cache."""

    def __init__(self, label, directory):
        self.label = label
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("page_worker.py")), str(directory)],
            cwd=directory,
            env=os.environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def get(self, user, url, queries=False, token=None):
        command = {"user": user, "url": url, "queries": queries, "token": token}
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.label} code's page worker stopped (see above)")
        answer = json.loads(line)
        assert answer["status"] == 200, (self.label, url, answer["status"])
        return answer

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def pages(user, url, codes, repeat, token=None):
    """Server time of one page (the whole Django stack, in process) under each code,
    request by request in turns (ABBA…), so the machine's drift weighs on every code
    alike; and the SQL of the first code's request, run bare, for reference. With
    ``token``, the requests send that API token rather than the user's session."""
    for code in codes:
        for _ in range(3):  # warm the code's caches and the connection
            code.get(user.username, url, token=token)
    statements = {
        code: code.get(user.username, url, queries=True, token=token)["sql"] for code in codes
    }
    samples = {code: [] for code in codes}
    for n in range(repeat):
        for code in codes if n % 2 == 0 else reversed(codes):
            samples[code].append(code.get(user.username, url, token=token)["ms"])
    floor = percentiles(timed(lambda: run_sql(map(bare, statements[codes[0]])), repeat))
    return [
        {
            "url": url,
            "queries": len(statements[code]),
            **percentiles(samples[code]),
            "floor_median_ms": floor["median_ms"],
            "floor_p95_ms": floor["p95_ms"],
        }
        for code in codes
    ]


def calibration():
    """This machine's speed, so runs on different machines can be put side by side:
    SHA-256 in process over 256 MiB, and a fixed aggregate on PostgreSQL (best of 3)."""
    block = bytes(1 << 20)
    digest = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(256):
        digest.update(block)
    sha_mb_s = 256 * 1.048576 / (time.perf_counter() - start)
    probe = "SELECT sum(i * i) FROM generate_series(1::bigint, 2000000) AS i"
    sql_ms = min(timed(lambda: run_sql([probe]), 3))
    return {"sha256_mb_s": round(sha_mb_s), "sql_probe_ms": round(sql_ms, 1), "sql_probe": probe}


def reminders_scan(repeat):
    now = timezone.now()
    overdue = reminders.overdue_cases(now)
    found = len(list(overdue))
    sql = str(overdue.query)
    with CaptureQueriesContext(connection) as queries:
        list(reminders.overdue_cases(now))
    scan = percentiles(timed(lambda: list(reminders.overdue_cases(now)), repeat))
    statements = [bare(q["sql"]) for q in queries.captured_queries]
    floor = percentiles(timed(lambda: run_sql(statements), repeat))
    return {
        "overdue_cases": found,
        **scan,
        "floor_median_ms": floor["median_ms"],
        "ratio_median": round(scan["median_ms"] / floor["median_ms"], 2),
        "sql": sql,
    }


def digest_run(smtp, worker_env, period_end, timeout=900):
    """Every digest of the week through a real worker (prefork, 2 processes) on Redis,
    to a real SMTP server; the floor is one connection sending as many ready-made
    messages to the same server."""
    subscriptions = Subscription.objects.filter(active=True).count()
    sample = Subscription.objects.filter(incident_types=[], countries=[]).first()
    cache.clear()  # the first digest of a run, before the shared state counts exist
    with CaptureQueriesContext(connection) as queries:
        message = weekly.digest_message(sample, period_end)
    per_digest_queries = len(queries.captured_queries)

    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "config",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        env=worker_env,
    )
    try:
        _wait_for_worker()
        received_before = smtp.count
        start = time.perf_counter()
        queued = enqueue_digests(period_end)
        deadline = start + timeout
        while (
            DigestDelivery.objects.filter(period_end=period_end, status=DeliveryStatus.SENT).count()
            < queued
        ):
            if time.perf_counter() > deadline:
                raise TimeoutError("digests did not all go out in time")
            time.sleep(0.1)
        total = time.perf_counter() - start
        sent = smtp.count - received_before
        peaks = _peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    floor = _smtp_floor(smtp, message, queued)
    return {
        "subscriptions": subscriptions,
        "sent": sent,
        "total_s": round(total, 2),
        "per_digest_queries": per_digest_queries,
        "worker_peak_rss_mb": peaks,
        "smtp_floor_s": round(floor, 2),
        "ratio": round(total / floor, 2),
    }


def _wait_for_worker(timeout=60):
    from config.celery import app

    deadline = time.monotonic() + timeout
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise TimeoutError("the Celery worker did not start")


def _peak_rss_mb(pid):
    """Peak resident memory (VmHWM) of the worker's main process and each child."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    peaks = {}
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[p] = round(int(line.split()[1]) / 1024, 1)
    return {"max_process": max(peaks.values()), "all_processes": sum(peaks.values())}


def _smtp_floor(smtp, message, count):
    raw = EmailMessage()
    raw["Subject"] = message.subject
    raw["From"] = message.from_email
    raw["To"] = message.to[0]
    raw.set_content(message.body)
    start = time.perf_counter()
    with smtplib.SMTP(smtp.host, smtp.port) as client:
        for _ in range(count):
            client.send_message(raw)
    return time.perf_counter() - start


def ingest(size_mb, workdir):
    """Ingesting one file through the upload path (multipart parsing, hashing while
    spooling, the type check, storing by rename), in a fresh process so its peak
    memory is its own; against ``sha256sum`` of the same bytes."""
    payload = Path(workdir) / f"payload-{size_mb}.pdf"
    body = Path(workdir) / f"upload-{size_mb}.multipart"
    boundary = "----benchboundary7MA4YWxkTrZu0gW"
    _write_payload(payload, size_mb)
    with open(body, "wb") as out:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; '
            f'filename="{payload.name}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        )
        with open(payload, "rb") as f:
            while chunk := f.read(8 << 20):
                out.write(chunk)
        out.write(f"\r\n--{boundary}--\r\n".encode())

    # Preparing wrote twice the file's size: let the disk catch up before timing.
    # Both sides then read from a warm page cache, and each is the best of three
    # runs, as the machine's disk and neighbours make single runs vary by half.
    os.sync()
    sha_times, runs = [], []
    for _ in range(3):
        _read(payload)
        sha_times.append(_run(["sha256sum", str(payload)]))
        _read(body)
        runs.append(_ingest_once(body, boundary))
        shutil.rmtree(Path(os.environ["EVIDENCE_ROOT"]), ignore_errors=True)
    expected = hashlib.sha256(payload.read_bytes()).hexdigest() if size_mb <= 64 else None
    if expected:
        assert all(run["sha256"] == expected for run in runs), "the stored digest is not the file's"
    payload.unlink()
    body.unlink()
    ingest_s = min(float(run["seconds"]) for run in runs)
    sha_s = min(sha_times)
    growth = max(float(run["peak_rss_mb"]) - float(run["baseline_rss_mb"]) for run in runs)
    return {
        "size_mb": size_mb,
        "ingest_s": round(ingest_s, 3),
        "ingest_runs_s": [float(run["seconds"]) for run in runs],
        "sha256sum_s": round(sha_s, 3),
        "ratio": round(ingest_s / sha_s, 2),
        "baseline_rss_mb": max(float(run["baseline_rss_mb"]) for run in runs),
        "peak_rss_mb": max(float(run["peak_rss_mb"]) for run in runs),
        "growth_mb": round(growth, 1),
    }


def export(formats, sizes, username, workdir):
    """The case list exported as each format at each size (the number of cases), in a
    fresh process each (bench/export_one.py): seconds to the last byte, the file's size,
    queries, and how much the process grew. Flat memory is the same growth at every
    size; the time is the export's whole work (queries, cells, formats, writing)."""
    results = []
    for format in formats:
        for cases in sizes:
            path = Path(workdir) / f"export.{format}"
            child = subprocess.run(
                [sys.executable, "-m", "bench.export_one", format, str(cases), str(path), username],
                capture_output=True,
                text=True,
                check=True,
                env=os.environ,
            )
            path.unlink()
            run = dict(line.split("=", 1) for line in child.stdout.split())
            peak, baseline = float(run["peak_rss_mb"]), float(run["baseline_rss_mb"])
            results.append(
                {
                    "format": format,
                    "cases": int(run["rows"]),
                    "seconds": float(run["seconds"]),
                    "mb": round(int(run["bytes"]) / 2**20, 2),
                    "queries": int(run["queries"]),
                    "peak_rss_mb": peak,
                    "growth_mb": round(peak - baseline, 1),
                }
            )
    return results


def _ingest_once(body, boundary):
    """One upload in a fresh process, so its peak memory is its own."""
    child = subprocess.run(
        [sys.executable, "-m", "bench.ingest_one", str(body), boundary],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    return dict(line.split("=", 1) for line in child.stdout.split())


def _write_payload(path, size_mb):
    block = b"%PDF-1.7\n" + os.urandom((16 << 20) - 9)
    remaining = size_mb << 20
    with open(path, "wb") as out:
        while remaining:
            out.write(block[:remaining])
            remaining -= min(remaining, len(block))


def _read(path):
    with open(path, "rb") as f:
        while f.read(8 << 20):
            pass


def _run(argv):
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def deep_cursor(url, depth):
    """``url`` (an API case list) starting ``depth`` cases into its list, with the
    cursor a client paging that far would hold: a keyset page costs what the first does."""
    from urllib.parse import parse_qs, urlencode, urlsplit

    from django.test import RequestFactory

    from api.pagination import KeysetPagination, cursor_after
    from tracker.filters import CaseFilter
    from tracker.models import Case

    request = RequestFactory().get(url)
    query = parse_qs(urlsplit(url).query)
    cases = CaseFilter(request.GET, queryset=Case.objects.order_by("-created_at", "-pk")).qs
    ordering = KeysetPagination().ordering_of(cases)
    # A full page must follow the cursor, or a small data set measures an empty page,
    # which costs fewer queries than a page of cases.
    page = int(query.get("page_size", ["50"])[0])
    depth = min(depth, max(cases.count() - page - 1, 0))
    row = cases.order_by(*ordering)[depth]
    query["cursor"] = [cursor_after(row, ordering)]
    return f"{urlsplit(url).path}?{urlencode(query, doseq=True)}", depth + 1
