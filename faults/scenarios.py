"""The fault scenarios. Each is registered with ``@scenario``: it gets the harness
(``Harness``: the services, a fresh database, the workers) and the size to run at, sets
up its work, breaks something while the work runs, and returns an ``Outcome`` saying
what it expected and whether that held. A digest scenario is a few lines:
``run_digests(harness, subscriptions, fault=...)`` does the rest."""

import functools
import json
import os
import random
import re
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import redis
from celery import Celery

from .services import ROOT, VENV_BIN

SCENARIOS = {}


@dataclass(frozen=True)
class Size:
    quick: bool
    digests: int
    kills: int
    outage: float  # seconds Redis or PostgreSQL stays down
    smtp_4xx_for: float = 120  # seconds the SMTP server answers 451
    smtp_down_for: float = 300  # seconds the SMTP server is down


@dataclass
class Outcome:
    expected: str
    passed: bool
    subscriptions: int = 0
    sent: int = 0
    lost: int = 0
    duplicated: int = 0
    # Duplicates carrying the Message-ID of the copy before: a mail client shows one.
    same_message_id: int = 0
    # Tasks that failed for good, by exception, from the workers' log.
    task_errors: dict = field(default_factory=dict)
    # Messages Redis handed out and never got acknowledged: redelivered only after the
    # visibility timeout (hours), not lost for good but late.
    unacked: int = 0
    rows: dict = field(default_factory=dict)  # status -> (count, attempts)
    faults: str = ""
    # A scenario that shows what goes wrong without a setting does not fail the run.
    demonstration: bool = False


@dataclass(frozen=True)
class Scenario:
    run: object  # (harness, size) -> Outcome
    quick: bool  # part of --quick, which CI runs
    redis_appendonly: bool


def scenario(name, quick=False, redis_appendonly=True):
    def register(run):
        SCENARIOS[name] = Scenario(run, quick, redis_appendonly)
        return run

    return register


def seed_subscriptions(harness, count):
    harness.sql(
        "INSERT INTO tracker_subscription (email, active, incident_types, countries, created_at)"
        " SELECT 'subscriber' || n || '@example.org', true, '[]', '', now()"
        " FROM generate_series(1, %s) AS n",
        (count,),
    )


def send_digests(harness):
    subprocess.run(
        [VENV_BIN / "python", "manage.py", "send_digests", "--period-end", harness.period_end],
        cwd=ROOT,
        env=harness.env,
        check=True,
        capture_output=True,
    )


def sweep(harness):
    """Beat's mail sweep, its minutes compressed: every delivery a lost or failed job
    left pending (or sending) is queued again."""
    subprocess.run(
        [VENV_BIN / "python", "manage.py", "sweep_mail"],
        cwd=ROOT,
        env={**harness.env, "MAIL_SWEEP_AFTER_MINUTES": "0"},
        check=True,
        capture_output=True,
    )


def delivery_rows(harness):
    rows = harness.sql(
        "SELECT status, count(*), sum(attempts) FROM tracker_digestdelivery GROUP BY status"
    )
    return {status: (count, int(attempts)) for status, count, attempts in rows}


def count_digests(harness, expected, passed=None, **details):
    """Sent, lost and duplicated from what the SMTP server received, one subscription
    an address; the delivery rows as the database has them."""
    addresses = {row[0] for row in harness.sql("SELECT email FROM tracker_subscription")}
    mail = [(r, message_id) for r, message_id in harness.mailbox.received if r in addresses]
    received = Counter(r for r, _ in mail)
    outcome = Outcome(
        expected=expected,
        passed=False,
        subscriptions=len(addresses),
        sent=len(received),
        lost=len(addresses - received.keys()),
        duplicated=sum(received.values()) - len(received),
        same_message_id=len(mail) - len(set(mail)),
        task_errors=dict(Counter(re.findall(r"raised unexpected: (\S+)", harness.log.read_text()))),
        rows=delivery_rows(harness),
        **details,
    )
    # The last tasks' acknowledgements follow their commits by a moment.
    time.sleep(2)
    if harness.redis.answers():
        outcome.unacked = redis.Redis.from_url(harness.redis.url(0)).hlen("unacked")
    outcome.passed = passed(outcome) if passed else outcome.lost == 0
    return outcome


def settled(harness, total, stall):
    """Wait until every digest is sent or failed, or nothing changed for ``stall`` s."""
    last, since = None, time.monotonic()
    while time.monotonic() - since < stall:
        rows = delivery_rows(harness)
        done = sum(count for status, (count, _) in rows.items() if status in ("sent", "failed"))
        if done >= total:
            return
        # Workers still working through the queue (duplicate jobs from the sweep, say)
        # have not stalled even while nothing new is sent.
        state = (len(harness.mailbox.received), tuple(sorted(rows.items())), queued(harness))
        if state != last:
            last, since = state, time.monotonic()
        time.sleep(0.5)


def queued(harness):
    """Messages waiting in the Celery queue, or None while Redis is down."""
    try:
        return redis.Redis.from_url(harness.redis.url(0)).llen("celery")
    except redis.RedisError:
        return None


def received_share(harness, share, total, timeout=120):
    deadline = time.monotonic() + timeout
    while len(harness.mailbox.received) < share * total and time.monotonic() < deadline:
        time.sleep(0.05)


def run_digests(harness, subscriptions, fault=None, enqueue=send_digests, stall=20):
    """Seed the subscriptions, start the workers, enqueue the week's digests, run
    ``fault`` (which returns what it did) while they go out, wait for them to settle."""
    seed_subscriptions(harness, subscriptions)
    harness.start_workers()
    enqueue(harness)
    done = fault(harness, subscriptions) if fault else ""
    settled(harness, subscriptions, stall)
    if unfinished(harness):
        sweep(harness)
        settled(harness, subscriptions, stall)
    return done


def unfinished(harness):
    return any(status in ("pending", "sending") for status in delivery_rows(harness))


def kill_children(harness, count, reached):
    """SIGKILL ``count`` worker pool processes at random moments of a batch, each once
    ``reached(share)`` returns (so a worker that is sending, not one booting). Returns
    how many kills landed."""
    kills = 0
    for point in sorted(random.uniform(0.02, 0.95) for _ in range(count)):
        reached(point)
        kills += harness.workers.kill_child()
    return kills


@scenario("worker-kills", quick=True)
def worker_kills(harness, size):
    harness.mailbox.latency = 0.02

    def kill(harness, total):
        kills = kill_children(
            harness, size.kills, lambda share: received_share(harness, share, total)
        )
        return f"{kills} worker processes SIGKILLed"

    done = run_digests(harness, size.digests, kill)
    kills = int(done.split()[0])
    return count_digests(
        harness,
        f"0 lost, duplicated <= kills ({kills})",
        lambda o: o.lost == 0 and o.duplicated <= kills,
        faults=done,
    )


def redis_restart(harness, total, outage):
    received_share(harness, 0.3, total)
    harness.redis.kill_and_restart(outage)
    return f"Redis SIGKILLed after {len(harness.mailbox.received)} sent, down {outage:g} s"


@scenario("redis-kill-aof", quick=True)
def redis_kill_aof(harness, size):
    harness.mailbox.latency = 0.01
    done = run_digests(harness, size.digests, lambda h, n: redis_restart(h, n, size.outage))
    return count_digests(harness, "0 lost (appendonly yes, everysec)", faults=done)


@scenario("redis-kill-no-persistence", redis_appendonly=False)
def redis_kill_no_persistence(harness, size):
    harness.mailbox.latency = 0.01
    done = run_digests(harness, size.digests, lambda h, n: redis_restart(h, n, size.outage))
    return count_digests(
        harness,
        "loses the queue (appendonly no)",
        lambda o: True,
        faults=done,
        demonstration=True,
    )


@scenario("postgres-restart")
def postgres_restart(harness, size):
    harness.mailbox.latency = 0.01

    def restart(harness, total):
        received_share(harness, 0.3, total)
        harness.postgres.restart(size.outage)
        return f"PostgreSQL stopped (immediate) for {size.outage:g} s"

    done = run_digests(harness, size.digests, restart, stall=30)
    # The pool's 4 processes may each have had a message accepted and not yet recorded.
    return count_digests(
        harness,
        "tasks retry, 0 lost, duplicated <= 4 (in flight)",
        lambda o: o.lost == 0 and o.duplicated <= 4,
        faults=done,
    )


def smtp_replies(reply, outage):
    def fault(harness, total):
        harness.mailbox.reply = reply
        time.sleep(outage)
        harness.mailbox.reply = None
        return f"SMTP answered {reply[:3]} for {outage:g} s"

    return fault


@scenario("smtp-4xx")
def smtp_4xx(harness, size):
    harness.mailbox.reply = "451 4.3.0 Try again later"
    done = run_digests(
        harness, 100, smtp_replies(harness.mailbox.reply, size.smtp_4xx_for), stall=30
    )
    return count_digests(harness, "all delivered after the 4xx", faults=done)


@scenario("smtp-5xx")
def smtp_5xx(harness, size):
    harness.mailbox.reply = "550 5.1.1 No such mailbox"
    done = run_digests(harness, 100, stall=10)
    harness.mailbox.reply = None
    return count_digests(
        harness,
        "none sent; each row failed after 1 attempt",
        lambda o: o.sent == 0 and o.rows == {"failed": (o.subscriptions, o.subscriptions)},
        faults=f"SMTP answered 550 to all ({harness.mailbox.refused} refusals){done}",
    )


@scenario("smtp-down")
def smtp_down(harness, size):
    harness.mailbox.down()

    def come_back(harness, total):
        time.sleep(size.smtp_down_for)
        harness.mailbox.up()
        return f"SMTP server down for {size.smtp_down_for:g} s"

    done = run_digests(harness, 100, come_back, stall=30)
    return count_digests(harness, "all delivered after it is back", faults=done)


def at_once(*calls):
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@scenario("two-beats-week", quick=True)
def two_beats_week(harness, size):
    """Two beat processes started by mistake, over a week of their schedule replayed
    in minutes: for each day, both send the daily reminder scan at the same moment
    (and on Monday the weekly digest run), then the mail sweep, which here takes
    every unfinished row at once and so races the jobs it re-enqueues."""
    days, cases = 7, max(size.digests // 10, 5)
    seed_subscriptions(harness, size.digests)
    subprocess.run(
        [VENV_BIN / "python", "-m", "faults.overdue", str(cases)],
        cwd=ROOT,
        env=harness.env,
        check=True,
        capture_output=True,
    )
    harness.env["MAIL_SWEEP_AFTER_MINUTES"] = "0"
    harness.start_workers()
    beats = [Celery(broker=harness.env["REDIS_URL"]) for _ in range(2)]
    first = date.today()
    for day in (first + timedelta(days=n) for n in range(days)):
        ticks = [("tracker.tasks.send_reminders", {"as_of": f"{day}T12:00:00+00:00"})]
        if day.weekday() == 0:
            ticks.append(("digests.tasks.send_digests", {"period_end": day.isoformat()}))
        ticks.append(("mailer.tasks.sweep_deliveries", {}))
        for task, kwargs in ticks:
            at_once(*(functools.partial(b.send_task, task, kwargs=kwargs) for b in beats))
        # The day is over once its reminders are out.
        wait_for(lambda d=day: reminders_sent(harness, d) >= cases, stall=20)
    settled(harness, size.digests, stall=20)
    if unfinished(harness):
        sweep(harness)
        settled(harness, size.digests, stall=20)
    faults = f"two beats, {days} days of ticks each sent twice at once"
    digests = count_digests(
        harness,
        "one digest per subscription",
        lambda o: o.lost == 0 and o.duplicated == 0,
        faults=faults,
    )
    return {"digests": digests, "reminders": count_reminders(harness, cases, days, faults)}


def wait_for(condition, stall):
    deadline = time.monotonic() + stall
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)


def reminders_sent(harness, day):
    [(count,)] = harness.sql(
        "SELECT count(*) FROM tracker_reminder WHERE date = %s AND status = 'sent'", (day,)
    )
    return count


def count_reminders(harness, cases, days, faults):
    """One reminder (or escalation) per case and day: each case's reference counted in
    the subjects the SMTP server received, whatever their Message-IDs."""
    mail = [(mid, subject) for mid, subject in harness.mailbox.messages
            if subject.startswith(("Reminder:", "Escalation:"))]  # fmt: skip
    per_case = Counter(subject.split()[1] for _, subject in mail)
    references = [row[0] for row in harness.sql("SELECT reference FROM tracker_case")]
    rows = harness.sql(
        "SELECT status, count(*), sum(attempts) FROM tracker_reminder GROUP BY status"
    )
    outcome = Outcome(
        expected=f"one reminder per case and day ({cases} cases x {days} days)",
        passed=False,
        subscriptions=cases * days,
        sent=sum(min(per_case[r], days) for r in references),
        lost=sum(max(days - per_case[r], 0) for r in references),
        duplicated=sum(max(per_case[r] - days, 0) for r in references),
        same_message_id=len(mail) - len(set(mail)),
        rows={status: (count, int(attempts)) for status, count, attempts in rows},
        faults=faults,
    )
    outcome.passed = outcome.lost == 0 and outcome.duplicated == 0
    return outcome


@scenario("reviewer-race", quick=True)
def reviewer_race(harness, size):
    rounds, reviewers = 20, 20
    result = subprocess.run(
        [VENV_BIN / "python", "-m", "faults.race", str(rounds), str(reviewers)],
        cwd=ROOT,
        env=harness.env,
        check=True,
        capture_output=True,
        text=True,
    )
    decisions = json.loads(result.stdout)
    once = sum(d["transitions"] == 1 and d["decided"] == 1 for d in decisions)
    return Outcome(
        expected=f"exactly one decision on each of {rounds} cases",
        passed=once == rounds,
        faults=f"{reviewers} reviewers at once, {rounds} times: {once} decided once",
        rows=dict(Counter(f"{d['transitions']} decision(s)" for d in decisions)),
    )


EVIDENCE_FORM = {
    "title": "Rail manifest",
    "kind": "document",
    "stance": "supports",
    "credibility": "2",
}


def ingest_site(harness, evidence_root):
    """A monitor signed in to gunicorn whose EVIDENCE_ROOT is ``evidence_root``, and
    the path of the evidence form of their draft case, with its fields."""
    password = secrets.token_urlsafe(16)
    harness.env["EVIDENCE_ROOT"] = str(evidence_root)
    world = json.loads(
        subprocess.run(
            [VENV_BIN / "python", "-m", "faults.ingest", password],
            cwd=ROOT,
            env=harness.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    site = harness.start_web()
    site.sign_in(world["username"], password)
    return (
        site,
        f"/cases/{world['case']}/evidence/new/",
        {**EVIDENCE_FORM, "source": world["source"]},
    )


def evidence_kept(harness, root):
    [(items,)] = harness.sql("SELECT count(*) FROM evidence_evidenceitem")
    [(files,)] = harness.sql("SELECT count(*) FROM evidence_storedfile")
    on_disk = sum(1 for path in Path(root).rglob("*") if path.is_file())
    return {"evidence items": items, "stored files": files, "files on disk": on_disk}


@scenario("ingest-disk-full", quick=True)
def ingest_disk_full(harness, size):
    root = harness.small_disk("256k")
    site, path, fields = ingest_site(harness, root)
    body, content_type = site.upload_form(path, fields, "scan.txt", b"manifest line\n" * 80_000)
    status, _, page = site.post(path, body, content_type)
    said = "scan.txt could not be stored: No space left on device" in page
    kept = evidence_kept(harness, root)
    return Outcome(
        expected="the form says the disk is full; no row, no file",
        passed=status == 200 and said and not any(kept.values()),
        faults="a 1.1 MB upload onto a 256 KiB file system",
        rows={"answer": status, "said so": said, **kept},
    )


@scenario("ingest-cut-off", quick=True)
def ingest_cut_off(harness, size):
    root = harness.workdir / f"{harness.name}-evidence"
    site, path, fields = ingest_site(harness, root)
    body, content_type = site.upload_form(
        path, fields, "scan.pdf", b"%PDF-1.7\n" + b"x" * 4_000_000
    )
    site.cut_off(path, body, content_type, sent=len(body) // 2)
    time.sleep(2)  # the worker reads to the end of what came, then gives up
    cut = evidence_kept(harness, root)
    # The site goes on: the same file, sent whole, is stored.
    body, content_type = site.upload_form(
        path, fields, "scan.pdf", b"%PDF-1.7\n" + b"x" * 4_000_000
    )
    status, _, _ = site.post(path, body, content_type)
    after = evidence_kept(harness, root)
    return Outcome(
        expected="nothing kept of the cut upload; the retry stored",
        passed=not any(cut.values()) and status == 302 and list(after.values()) == [1, 1, 1],
        faults="a 4 MB upload, connection dropped half-way",
        rows={**{f"{k} after the cut": v for k, v in cut.items()}, "retry": status},
    )


@scenario("ingest-same-bytes", quick=True)
def ingest_same_bytes(harness, size):
    root = harness.workdir / f"{harness.name}-evidence"
    rounds = 5 if size.quick else 20
    site, path, fields = ingest_site(harness, root)
    answers = []
    for n in range(rounds):
        content = f"%PDF-1.7\nthe same leaked manifest, round {n}\n".encode() * 10_000
        forms = [site.upload_form(path, fields, f"copy-{c}.pdf", content) for c in (1, 2)]
        at_once(*(functools.partial(post_into, site, path, form, answers) for form in forms))
    kept = evidence_kept(harness, root)
    return Outcome(
        expected=f"{rounds} pairs of the same bytes at once: one file, two items each",
        passed=answers == [302] * 2 * rounds
        and list(kept.values()) == [2 * rounds, rounds, rounds],
        faults=f"{rounds} x two uploads of the same bytes at the same moment",
        subscriptions=2 * rounds,
        sent=kept["evidence items"],
        lost=2 * rounds - kept["evidence items"],
        rows={"answers": dict(Counter(answers)), **kept},
    )


def post_into(site, path, form, answers):
    status, _, _ = site.post(path, *form)
    answers.append(status)


# Webhooks: approvals raise events while the workers deliver them to a partner's
# endpoint (``Receiver``), which is made slow, failing, or whose workers are killed.


def webhook_rows(harness):
    rows = harness.sql(
        "SELECT status, count(*), sum(attempts) FROM webhooks_webhookdelivery GROUP BY status"
    )
    return {status: (count, int(attempts)) for status, count, attempts in rows}


def webhooks_settled(harness, total, stall):
    """Wait until every delivery is sent or failed, or nothing changed for ``stall`` s."""
    last, since = None, time.monotonic()
    while time.monotonic() - since < stall:
        rows = webhook_rows(harness)
        done = sum(count for status, (count, _) in rows.items() if status in ("sent", "failed"))
        if done >= total:
            return
        state = (len(harness.receiver.taken), tuple(sorted(rows.items())))
        if state != last:
            last, since = state, time.monotonic()
        time.sleep(0.5)


def run_webhooks(harness, events, fault=None, stall=30, latency=0.0):
    """Start the receiver, approve ``events`` cases (one webhook each, queued as each
    approval commits), start the workers and run ``fault`` (which returns what it
    did) while they deliver; wait for the deliveries to settle, sweep once if any is
    unfinished. Returns (references, what was done)."""
    secret = secrets.token_urlsafe(32)
    receiver = harness.start_receiver(secret)
    receiver.latency = latency
    # All queued first: the workers then deliver at full speed, so a kill lands on a
    # process in the middle of a delivery rather than one waiting for the next event.
    result = subprocess.run(
        [VENV_BIN / "python", "-m", "faults.events", receiver.url, secret, str(events)],
        cwd=ROOT,
        env=harness.env,
        check=True,
        capture_output=True,
        text=True,
    )
    harness.start_workers()
    done = fault(harness, events) if fault else ""
    webhooks_settled(harness, events, stall)
    if any(status in ("pending", "sending") for status in webhook_rows(harness)):
        sweep(harness)
        webhooks_settled(harness, events, stall)
    return json.loads(result.stdout), done


def count_webhooks(harness, references, expected, passed, faults):
    """Sent, lost and duplicated from what the receiver took, one event a case; the
    delivery rows and the endpoint as the database has them."""
    taken = harness.receiver.taken
    per_case = Counter(reference for reference, _ in taken)
    [(active, failures)] = harness.sql("SELECT active, consecutive_failures FROM webhooks_endpoint")
    outcome = Outcome(
        expected=expected,
        passed=False,
        subscriptions=len(references),
        sent=sum(1 for r in references if per_case[r]),
        lost=sum(1 for r in references if not per_case[r]),
        duplicated=len(taken) - len(per_case),
        # Copies carrying the Tracker-Delivery id of the copy before.
        same_message_id=len(taken) - len(set(taken)),
        task_errors=dict(Counter(re.findall(r"raised unexpected: (\S+)", harness.log.read_text()))),
        rows={
            **webhook_rows(harness),
            "endpoint": "active" if active else "disabled",
            "failures in a row": failures,
        },
        faults=faults,
    )
    if harness.receiver.forged:
        outcome.rows["bad signatures"] = harness.receiver.forged
    outcome.passed = passed(outcome) and not harness.receiver.forged
    return outcome


def taken_share(harness, share, total, timeout=120):
    deadline = time.monotonic() + timeout
    while len(harness.receiver.taken) < share * total and time.monotonic() < deadline:
        time.sleep(0.05)


@scenario("webhook-worker-kills", quick=True)
def webhook_worker_kills(harness, size):
    events = size.digests // 2

    def kill(harness, total):
        kills = kill_children(harness, size.kills, lambda share: taken_share(harness, share, total))
        return f"{kills} worker processes SIGKILLed mid-delivery"

    # Most of a delivery's time is the request, where a kill matters most.
    references, done = run_webhooks(harness, events, kill, latency=0.1)
    kills = int(done.split()[0])
    return count_webhooks(
        harness,
        references,
        f"0 lost, duplicated <= kills ({kills}), each with its first copy's delivery id",
        lambda o: o.lost == 0 and o.duplicated <= kills and o.same_message_id == o.duplicated,
        done,
    )


@scenario("webhook-timeouts")
def webhook_timeouts(harness, size):
    slow_for = 10 if size.quick else 30
    events = size.digests // 10

    def slow(harness, total):
        harness.receiver.stall = 3  # past WEBHOOK_TIMEOUT_SECONDS (2)
        wait_for(lambda: harness.receiver.requests, stall=120)  # the workers are up
        time.sleep(slow_for)
        harness.receiver.stall = 0
        return (
            f"endpoint answered after 3 s (timeout 2 s) for {slow_for} s: "
            f"{harness.receiver.stalled} requests"
        )

    references, done = run_webhooks(harness, events, slow)
    late = harness.receiver.stalled
    return count_webhooks(
        harness,
        references,
        f"0 lost; duplicated <= late answers ({late}), each with its first copy's delivery id",
        lambda o: o.lost == 0 and o.duplicated <= late and o.same_message_id == o.duplicated,
        done,
    )


@scenario("webhook-500-then-recovers")
def webhook_500_then_recovers(harness, size):
    failing_for = 10 if size.quick else 30
    events = size.digests // 10

    def failing(harness, total):
        harness.receiver.status = 500
        wait_for(lambda: harness.receiver.requests, stall=120)  # the workers are up
        time.sleep(failing_for)
        harness.receiver.status = 200
        return f"endpoint answered 500 for {failing_for} s ({harness.receiver.refused} times)"

    references, done = run_webhooks(harness, events, failing)
    return count_webhooks(
        harness,
        references,
        "all delivered after the 500s, none twice; the endpoint stays active",
        lambda o: o.lost == 0 and o.duplicated == 0 and o.rows["endpoint"] == "active",
        done,
    )


@scenario("import-worker-kill")
def import_worker_kill(harness, size):
    """An import's worker SIGKILLed half-way through its one transaction: the cases it
    had saved must vanish with it, and the task, delivered again, must import the whole
    file once."""
    rows = 500 if size.quick else 2000
    root = harness.workdir / f"{harness.name}-imports"
    harness.env["IMPORT_ROOT"] = str(root)
    job = json.loads(
        subprocess.run(
            [VENV_BIN / "python", "-m", "faults.imports", str(rows)],
            cwd=ROOT,
            env=harness.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )["job"]

    def half_way():
        [(status,)] = harness.sql("SELECT status FROM exchange_importjob WHERE id = %s", (job,))
        try:
            progress = json.loads(next(root.glob("*.progress")).read_text())
        except (StopIteration, OSError, ValueError):
            return False
        return status == "applying" and progress["fraction"] >= 0.5

    harness.start_workers()
    wait_for(half_way, stall=120)
    killed = 0
    for child in harness.workers.children():
        try:
            os.kill(child, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    [(left,)] = harness.sql("SELECT count(*) FROM tracker_case")
    [(status,)] = harness.sql("SELECT status FROM exchange_importjob WHERE id = %s", (job,))
    wait_for(
        lambda: (
            harness.sql("SELECT status FROM exchange_importjob WHERE id = %s", (job,))[0][0]
            in ("applied", "failed")
        ),
        stall=300,
    )
    [(final,)] = harness.sql("SELECT status FROM exchange_importjob WHERE id = %s", (job,))
    [(cases, distinct)] = harness.sql(
        "SELECT count(*), count(DISTINCT external_id) FROM tracker_case"
    )
    return Outcome(
        expected=f"0 cases right after the kill; then {rows} cases, each once, applied",
        passed=killed > 0
        and status == "applying"
        and left == 0
        and final == "applied"
        and cases == distinct == rows,
        subscriptions=rows,
        sent=cases,
        lost=rows - distinct,
        duplicated=cases - distinct,
        rows={"after the kill": f"{left} cases, job {status}", "then": f"job {final}"},
        faults=f"{killed} worker processes SIGKILLed half-way through the import",
    )
