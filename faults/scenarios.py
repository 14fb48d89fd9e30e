"""The fault scenarios. Each is registered with ``@scenario``: it gets the harness
(``Harness``: the services, a fresh database, the workers) and the size to run at, sets
up its work, breaks something while the work runs, and returns an ``Outcome`` saying
what it expected and whether that held. A digest scenario is a few lines:
``run_digests(harness, subscriptions, fault=...)`` does the rest."""

import json
import random
import re
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import redis

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
        state = (len(harness.mailbox.received), tuple(sorted(rows.items())))
        if state != last:
            last, since = state, time.monotonic()
        time.sleep(0.5)


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


@scenario("worker-kills", quick=True)
def worker_kills(harness, size):
    harness.mailbox.latency = 0.02

    def kill(harness, total):
        # At random moments of the batch: a worker that is sending, not one booting.
        kills = 0
        for point in sorted(random.uniform(0.02, 0.95) for _ in range(size.kills)):
            received_share(harness, point, total)
            kills += harness.workers.kill_child()
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


@scenario("two-beats", quick=True)
def two_beats(harness, size):
    def enqueue_twice(harness):
        beats = [threading.Thread(target=send_digests, args=(harness,)) for _ in range(2)]
        for beat in beats:
            beat.start()
        for beat in beats:
            beat.join()

    done = run_digests(harness, size.digests, enqueue=enqueue_twice)
    return count_digests(
        harness,
        "one digest per subscription",
        lambda o: o.lost == 0 and o.duplicated == 0,
        faults="two send_digests at once" + done,
    )


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
