"""`make faults`: run the real processes (Celery workers in prefork mode, Redis,
PostgreSQL, an SMTP server, a webhook receiver), break them while digests and
webhooks go out, and print for each scenario what was sent, lost and duplicated.
Every service is the harness's own, in a temporary folder on free ports; the
machine's PostgreSQL and Redis are not touched.
Exits non-zero when a scenario did not hold (a demonstration, such as Redis without
persistence, is reported but does not fail the run). ``--quick`` is CI's short run."""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from .scenarios import SCENARIOS, Outcome, Size
from .services import ROOT, VENV_BIN, Mailbox, Postgres, Receiver, Redis, Web, Workers
from .site import Site

TEMPLATE = "faults_template"


class Harness:
    """One scenario's world: a fresh database made from the migrated template, its own
    Redis (queue in db 0, cache in db 1, as production shares one server), an SMTP
    server and, once started, the workers."""

    def __init__(self, postgres, workdir, name, redis_appendonly):
        self.postgres = postgres
        self.database = f"faults_{name.replace('-', '_')}"
        postgres.execute(f"DROP DATABASE IF EXISTS {self.database}")
        postgres.execute(f"CREATE DATABASE {self.database} TEMPLATE {TEMPLATE}")
        self.redis = Redis(workdir, appendonly=redis_appendonly)
        self.mailbox = Mailbox()
        self.workers = None
        self.web = None
        self.receiver = None
        self.mounts = []
        self.workdir = Path(workdir)
        self.log = self.workdir / f"{name}-workers.log"
        self.name = name
        self.period_end = date.today().isoformat()
        self.env = environment(postgres.url(self.database), self.redis, self.mailbox.port)

    def sql(self, query, params=None):
        return self.postgres.execute(query, self.database, params)

    def start_workers(self):
        self.workers = Workers(self.env, self.log)

    def start_receiver(self, secret):
        """A partner's webhook endpoint on 127.0.0.1; returns the ``Receiver``."""
        self.receiver = Receiver(secret)
        return self.receiver

    def start_web(self):
        """gunicorn with production settings; returns a signed-out ``Site``."""
        static = self.workdir / "static"
        self.env["STATIC_ROOT"] = str(static)
        if not static.exists():  # collected once for the whole run
            manage(self.env, "collectstatic", "--no-input")
        self.web = Web(self.env, self.workdir / f"{self.name}-web.log")
        return Site(self.web.port)

    def small_disk(self, size):
        """A folder on a file system of ``size`` (tmpfs; mounting needs root)."""
        folder = self.workdir / f"{self.name}-small-disk"
        folder.mkdir()
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", folder],
            check=True,
            capture_output=True,
        )
        self.mounts.append(folder)
        return folder

    def close(self):
        if self.web:
            self.web.stop()
        for folder in self.mounts:
            subprocess.run(["umount", folder], check=True)
        if self.workers:
            self.workers.stop()
        if self.receiver:
            self.receiver.down()
        self.redis.stop()
        self.mailbox.down()


def environment(database_url, redis=None, smtp_port=None):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "fault-harness-only",
        "DEBUG": "0",
        "DATABASE_URL": database_url,
        "EMAIL_USE_TLS": "0",
        "EMAIL_TIMEOUT": "10",
        # Retries within seconds, so an outage of a few seconds is outlasted quickly.
        "MAIL_RETRY_BACKOFF": "1",
        "MAIL_RETRY_BACKOFF_MAX": "4",
        "MAIL_MAX_RETRIES": "20",
        # A killed worker's claimed attempt is given up after this long, not minutes.
        "TASK_TIME_LIMIT_SECONDS": "10",
        # Webhooks: the receiver runs on 127.0.0.1 over plain HTTP; retries as quick
        # as the mail's, for long enough (about two minutes) to outlast the outages.
        "WEBHOOK_ALLOW_PRIVATE": "1",
        "WEBHOOK_REQUIRE_HTTPS": "0",
        "WEBHOOK_RETRY_BACKOFF": "1",
        "WEBHOOK_RETRY_BACKOFF_MAX": "4",
        "WEBHOOK_MAX_RETRIES": "40",
        "WEBHOOK_TIMEOUT_SECONDS": "2",
    }
    if redis:
        env.update(REDIS_URL=redis.url(0), CACHE_URL=redis.url(1))
    if smtp_port:
        env.update(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port))
    return env


def keep_logs_of_failures(harness, outcomes):
    """A failed scenario's process logs go to var/faults/, out of the temporary folder."""
    if all(o.passed for name, o in outcomes.items() if name.startswith(harness.name)):
        return
    kept = ROOT / "var" / "faults"
    kept.mkdir(parents=True, exist_ok=True)
    for log in harness.workdir.glob(f"{harness.name}-*.log"):
        shutil.copy(log, kept / log.name)
    print(f"[faults] {harness.name} failed: its logs are in {kept}", file=sys.stderr)


def manage(env, *args):
    subprocess.run(
        [VENV_BIN / "python", "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def parse_args():
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI's run: small and fast")
    parser.add_argument("scenarios", nargs="*", help=f"of {', '.join(SCENARIOS)}; all by default")
    return parser.parse_args()


def main():
    args = parse_args()
    size = (
        Size(quick=True, digests=100, kills=3, outage=2)
        if args.quick
        else Size(quick=False, digests=1000, kills=20, outage=5)
    )
    chosen = args.scenarios or [name for name, s in SCENARIOS.items() if s.quick or not args.quick]
    started = time.monotonic()
    outcomes = {}
    with tempfile.TemporaryDirectory(prefix="faults-") as workdir:
        os.chmod(workdir, 0o755)
        postgres = Postgres(workdir)
        try:
            postgres.execute(f"CREATE DATABASE {TEMPLATE}")
            manage(environment(postgres.url(TEMPLATE)), "migrate", "--no-input")
            for name in chosen:
                print(f"[faults] {name} ...", file=sys.stderr, flush=True)
                harness = Harness(postgres, workdir, name, SCENARIOS[name].redis_appendonly)
                try:
                    outcome = SCENARIOS[name].run(harness, size)
                    # A scenario with several kinds of mail reports a row for each.
                    parts = outcome if isinstance(outcome, dict) else {"": outcome}
                    for part, result in parts.items():
                        outcomes[f"{name} ({part})" if part else name] = result
                except Exception as error:  # one broken scenario must not hide the others
                    outcomes[name] = Outcome(expected="", passed=False, faults=repr(error))
                finally:
                    harness.close()
                    keep_logs_of_failures(harness, outcomes)
        finally:
            postgres.stop()
    print(table(outcomes))
    print(
        f"\n{'python -m faults --quick' if args.quick else 'make faults'} on "
        f"{platform.node()} ({os.cpu_count()} CPUs), {date.today()}, "
        f"{time.monotonic() - started:.0f} s"
    )
    failed = [name for name, o in outcomes.items() if not o.passed]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


def table(outcomes):
    header = ["scenario", "due", "sent", "lost", "dup (same id)",
              "rows (status: n/attempts)", "tasks failed / stranded", "fault", "expected",
              "result"]  # fmt: skip
    lines = [header]
    for name, o in outcomes.items():
        rows = ", ".join(
            f"{status}: {value[0]}/{value[1]}" if isinstance(value, tuple) else f"{status}: {value}"
            for status, value in sorted(o.rows.items())
        )
        result = "ok" if o.passed else "FAILED"
        if o.demonstration:
            result = "shown" if o.lost else "nothing lost"
        lines.append(
            [
                name,
                o.subscriptions,
                o.sent,
                o.lost,
                f"{o.duplicated} ({o.same_message_id})",
                rows,
                ", ".join(
                    [f"{error}: {n}" for error, n in sorted(o.task_errors.items())]
                    + ([f"unacked in Redis: {o.unacked}"] if o.unacked else [])
                ),
                o.faults,
                o.expected,
                result,
            ]
        )
    return markdown(lines)


def markdown(lines):
    lines = [[str(cell) for cell in line] for line in lines]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = [
        "| "
        + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        + " |"
        for line in lines
    ]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
