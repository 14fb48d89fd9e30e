"""The benchmark's measurements, each against its floor measured in the same run."""

import email.policy
import hashlib
import io
import json
import os
import re
import shutil
import smtplib
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from digests import weekly
from digests.models import DigestDelivery, Subscription
from evidence import files
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


def digest_run(smtp, worker_env, period_end, subscriptions, timeout=1800):
    """A weekly run of ``subscriptions`` digests, as beat starts it: the fan-out
    (``send_digests``) and every digest through a real worker (prefork, 2 processes)
    on Redis, to a real SMTP server; until every delivery is recorded as sent.

    Its floor: one smtplib connection sending as many messages of the same sizes as
    the server received, to the same server, one after the other. The workers' peak
    resident memory (VmHWM) includes the fan-out's.
    """
    from bench import dataset
    from config.celery import app

    dataset.subscriptions(subscriptions)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tracker_digestdelivery")
    sample = Subscription.objects.filter(active=True, incident_types=[], countries=[]).first()
    cache.clear()  # the first digest of a run, before the shared state counts exist
    with CaptureQueriesContext(connection) as queries:
        message = weekly.digest_message(sample, period_end)
    per_digest_queries = len(queries.captured_queries)
    cache.clear()
    smtp.reset()

    worker = start_worker(worker_env, 2)
    try:
        start = time.perf_counter()
        app.send_task("digests.tasks.send_digests", args=[period_end.isoformat()])
        deadline = start + timeout
        sent_rows = DigestDelivery.objects.filter(period_end=period_end, status=DeliveryStatus.SENT)
        # The server's count first (no query), then the rows, which follow it closely.
        while smtp.count < subscriptions or sent_rows.count() < subscriptions:
            if time.perf_counter() > deadline:
                raise TimeoutError("digests did not all go out in time")
            time.sleep(0.05 if smtp.count >= subscriptions else 0.2)
        total = time.perf_counter() - start
        sent = smtp.count
        peaks = _peak_rss_mb(worker.pid)
        cpu_s = _cpu_seconds(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    sizes = list(smtp.sizes)  # the floor's own messages are counted too
    floor = _smtp_floor(smtp, message, sizes)
    return {
        "subscriptions": subscriptions,
        "sent": sent,
        "total_s": round(total, 2),
        "per_message_ms": round(1000 * total / sent, 3),
        "worker_cpu_per_message_ms": round(1000 * cpu_s / sent, 3),
        "mean_message_kb": round(sum(sizes) / len(sizes) / 1024, 1),
        "per_digest_queries": per_digest_queries,
        "worker_peak_rss_mb": peaks,
        "smtp_floor_s": round(floor, 2),
        "smtp_floor_per_message_ms": round(1000 * floor / len(sizes), 3),
        "ratio": round(total / floor, 2),
    }


def start_worker(worker_env, concurrency):
    """A real Celery worker (prefork, ``concurrency`` processes) on the bench's Redis."""
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
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        env=worker_env,
    )
    try:
        _wait_for_worker()
    except BaseException:
        worker.terminate()
        raise
    return worker


# The integrity store: this many files, in chunks of the default size
# (EVIDENCE_CHECK_CHUNK_MB) or, for a small store, smaller, so two workers still have
# chunks to share.
STORE_FILES = 128
STORE_CHUNKS_AT_LEAST = 8


def integrity(store_mb, workdir, worker_env, repeat=3):
    """The weekly integrity check over a store of ``store_mb`` (files of random bytes
    cited by items), from queueing ``verify_evidence`` until its run is finished,
    through one real worker process and then two; against reading and hashing the
    same files with hashlib in this process. The page cache is warm for every run, so
    what is measured is hashing and the check's own overhead, not the disk."""
    from evidence.integrity import progress
    from evidence.models import EvidenceItem, IntegrityRun, StoredFile
    from evidence.tasks import verify_evidence

    paths, stored = _integrity_store(store_mb, workdir)
    chunk_mb = min(settings.EVIDENCE_CHECK_CHUNK_MB, max(store_mb // STORE_CHUNKS_AT_LEAST, 1))
    worker_env = {**worker_env, "EVIDENCE_CHECK_CHUNK_MB": str(chunk_mb)}
    items = list(EvidenceItem.objects.filter(file=None).order_by("pk")[: len(stored)])
    for item, stored_file in zip(items, stored, strict=True):
        item.file = stored_file
    EvidenceItem.objects.bulk_update(items, ["file"])
    total = sum(path.stat().st_size for path in paths)
    try:
        floor, floor_cpu = [], []
        for _ in range(repeat):
            start, cpu = time.perf_counter(), time.process_time()
            for path in paths:
                files.sha256_of_path(path)
            floor.append(time.perf_counter() - start)
            floor_cpu.append(time.process_time() - cpu)
        figures = {"store_mb": round(total / 1e6, 1), "files": len(paths)}
        for workers in (1, 2):
            worker = start_worker(worker_env, workers)
            try:
                runs, cpus = [], []
                for _ in range(repeat):
                    for path in paths:
                        _read(path)
                    IntegrityRun.objects.all().delete()
                    cpu = _cpu_s(worker.pid)
                    start = time.perf_counter()
                    verify_evidence.delay()
                    while not IntegrityRun.objects.filter(finished_at__isnull=False).exists():
                        if time.perf_counter() - start > 900:
                            raise TimeoutError("the integrity run did not finish in time")
                        time.sleep(0.02)
                    runs.append(time.perf_counter() - start)
                    cpus.append(_cpu_s(worker.pid) - cpu)
                    done = progress(IntegrityRun.objects.get())
                    assert done.chunks_done == done.chunks_total > 1 and not done.failures, done
                peaks = _peak_rss_mb(worker.pid)
            finally:
                worker.terminate()
                worker.wait(timeout=60)
            figures[f"workers_{workers}"] = {
                "seconds": round(min(runs), 3),
                "runs_s": [round(r, 3) for r in runs],
                "mb_s": round(total / 1e6 / min(runs)),
                "chunks": done.chunks_total,
                # The worker's processes' CPU (main and pool): the check's cost in
                # CPU, whatever else the machine ran meanwhile.
                "cpu_s": round(min(cpus), 3),
                "peak_rss_mb": peaks["max_process"],
            }
    finally:
        IntegrityRun.objects.all().delete()
        EvidenceItem.objects.filter(file__in=stored).update(file=None)
        StoredFile.objects.filter(pk__in=[s.pk for s in stored]).delete()
        for path in paths:
            path.unlink(missing_ok=True)
    figures["hashlib_s"] = round(min(floor), 3)
    figures["hashlib_cpu_s"] = round(min(floor_cpu), 3)
    figures["one_worker_cpu_ratio"] = round(
        figures["hashlib_cpu_s"] / figures["workers_1"]["cpu_s"], 2
    )
    figures["hashlib_mb_s"] = round(total / 1e6 / min(floor))
    figures["one_worker_ratio"] = round(figures["workers_1"]["mb_s"] / figures["hashlib_mb_s"], 2)
    figures["two_workers_ratio"] = round(
        figures["workers_2"]["mb_s"] / figures["workers_1"]["mb_s"], 2
    )
    return figures


def _integrity_store(store_mb, workdir):
    """STORE_FILES files of random bytes under EVIDENCE_ROOT, with their rows."""
    from evidence.models import StoredFile

    size = max((store_mb << 20) // STORE_FILES, 4096)
    block = os.urandom(min(size, 16 << 20))
    paths, stored = [], []
    for n in range(STORE_FILES):
        # Each file its own bytes: its number first, then the shared random block.
        spool = Path(workdir) / "store-file.tmp"
        piece = b"%PDF-1.7\n" + str(n).encode() + b"\n" + block
        digest, remaining = hashlib.sha256(), size
        with open(spool, "wb") as out:
            while remaining:
                part = piece[:remaining]
                digest.update(part)
                out.write(part)
                remaining -= len(part)
                piece = block
        row = StoredFile(sha256=digest.hexdigest(), size=size, content_type="application/pdf")
        path = files.path_of(row)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(spool, path)
        paths.append(path)
        stored.append(row)
    StoredFile.objects.bulk_create(stored)
    os.sync()
    return paths, list(StoredFile.objects.filter(sha256__in=[s.sha256 for s in stored]))


def _cpu_s(pid):
    """CPU seconds (user and system) used so far by a process and its children alive."""
    ticks = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    total = 0
    for p in [pid, *map(int, children.read_text().split())]:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


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


def _cpu_seconds(pid):
    """User and system CPU time of the worker's main process and its live children."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    ticks = 0
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _smtp_floor(smtp, message, sizes):
    """One connection sending a message of each of ``sizes`` bytes (cut from the
    sample digest's own bytes, repeated as needed) to the same server."""
    sample = message.message(policy=email.policy.SMTP).as_bytes()  # as Django sends it
    filler = sample * (max(sizes) // len(sample) + 1)
    sender, recipient = message.from_email, message.to[0]
    start = time.perf_counter()
    with smtplib.SMTP(smtp.host, smtp.port) as client:
        for size in sizes:
            client.sendmail(sender, [recipient], filler[:size])
    return time.perf_counter() - start


def ingest(size_mb, workdir):
    """Ingesting one file through the upload path (multipart parsing, hashing while
    spooling, the type check, storing by rename), in a fresh process so its peak
    memory is its own; against the floor, hashlib reading and hashing the same file in
    process (``sha256sum``, a slower floor, is measured too, for reference)."""
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
    sha_times, hashlib_times, hashlib_cpu, runs = [], [], [], []
    for _ in range(3):
        _read(payload)
        sha_times.append(_run(["sha256sum", str(payload)]))
        start, cpu = time.perf_counter(), time.process_time()
        files.sha256_of_path(payload)
        hashlib_times.append(time.perf_counter() - start)
        hashlib_cpu.append(time.process_time() - cpu)
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
    hashlib_s = min(hashlib_times)
    # On a busy machine wall times measure the neighbours as much as the code; the CPU
    # used does not. The request's thread parses; the others hash, scan and write.
    best = min(runs, key=lambda run: float(run["cpu_s"]))
    main_cpu = float(best["main_thread_cpu_s"])
    growth = max(float(run["peak_rss_mb"]) - float(run["baseline_rss_mb"]) for run in runs)
    return {
        "size_mb": size_mb,
        "ingest_s": round(ingest_s, 3),
        "ingest_runs_s": [float(run["seconds"]) for run in runs],
        "hashlib_s": round(hashlib_s, 3),
        "ratio": round(ingest_s / hashlib_s, 2),
        "sha256sum_s": round(sha_s, 3),
        "sha256sum_ratio": round(ingest_s / sha_s, 2),
        "cpu_s": float(best["cpu_s"]),
        "main_thread_cpu_s": main_cpu,
        "hashlib_cpu_s": round(min(hashlib_cpu), 3),
        "cpu_ratio": round(float(best["cpu_s"]) / min(hashlib_cpu), 2),
        "main_thread_cpu_ratio": round(main_cpu / min(hashlib_cpu), 2),
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


def deep_list_page(user, url, pages):
    """``url`` (the case list, as ``user`` sees it) at page ``pages``, by the cursor
    its "Next" link would carry there; (the url, the cases before the page). On a small
    data set, the deepest page that is still full."""
    from urllib.parse import parse_qs, urlencode, urlsplit

    from django.test import RequestFactory

    from common import paging
    from tracker.listing import cursor_after
    from tracker.views import filtered_cases

    request = RequestFactory().get(url)
    request.user = user
    cases = filtered_cases(request).qs
    ordering = paging.ordering_of(cases)
    query = parse_qs(urlsplit(url).query)
    size = int(query.get("page_size", ["25"])[0])
    depth = min((pages - 1) * size, max(cases.count() - size - 1, 1))
    row = cases.order_by(*ordering)[depth - 1]
    query["cursor"] = [cursor_after(row, ordering, depth // size + 1)]
    return f"{urlsplit(url).path}?{urlencode(query, doseq=True)}", depth


def deepest_admin_page(user, url):
    """The admin's changelist at ``url`` on the deepest page it offers, and its number."""
    from django.contrib import admin

    from tracker.models import Case

    case_admin = admin.site._registry[Case]
    cases = Case.objects.visible_to(user).count()
    page = max(1, min(case_admin.max_pages, cases // case_admin.list_per_page))
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}p={page}", page


def dossier_pdf(user, cases, repeat):
    """A list dossier of ``cases`` cases as PDF, made as its view makes it: gathered
    (a fixed number of queries), each item's export put on record, rendered and laid
    out by WeasyPrint. Whole seconds, the median and best of ``repeat``; with its
    pages, size and the queries it took."""
    from django.template.loader import render_to_string
    from pypdf import PdfReader

    from dossiers import compose
    from dossiers.pdf import render_pdf
    from tracker.models import Case

    newest = Case.objects.visible_to(user).order_by("-created_at", "-pk")
    chosen = Case.objects.filter(pk__in=list(newest.values_list("pk", flat=True)[:cases]))

    def make():
        dossier = compose.gather(chosen.order_by("-created_at", "-pk"), user)
        compose.record_export(dossier.items, user, f"dossier (PDF) of {cases} cases (bench)")
        html = render_to_string(
            "dossiers/dossier.html", {"dossier": dossier, "pdf": True, "many": True}
        )
        return dossier, render_pdf(html)

    with CaptureQueriesContext(connection) as queries:
        dossier, pdf = make()
    samples = [ms / 1000 for ms in timed(make, repeat)]
    return {
        "cases": len(dossier.cases),
        "evidence_items": len(dossier.items),
        "pages": len(PdfReader(io.BytesIO(pdf)).pages),
        "bytes": len(pdf),
        "queries": len(queries.captured_queries),
        "median_s": round(statistics.median(samples), 2),
        "best_s": round(min(samples), 2),
    }
