"""`make load`: many users at once against gunicorn, PostgreSQL and Redis.

Starts gunicorn (4 workers, production settings) on a free port of 127.0.0.1, on a
copy of the benchmark's data set, and runs Locust's users of bench/locustfile.py
against it for a fixed time; gunicorn is stopped afterwards. With ``--steps`` it runs
once per number of users and names the first at which the p95 of all requests passes
500 ms (signing in aside: Argon2 is slow on purpose, and a short run signs the whole
crowd in at once). The figures (requests/s, p95 per endpoint, errors) go to a JSON file.
With ``--profile`` py-spy samples every gunicorn worker during each run and the report
names the functions the workers spent their time in.

The database is made from ``--template`` (the one `make bench` builds) when it does
not exist, and migrated; the load changes it (cases are logged and approved), so it is
never the benchmark's own. The queue (Redis database 13 by default) is emptied
afterwards: no worker runs, so the mail the approvals queue is never sent.
"""

import argparse
import csv
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# The project's own packages, as the import contracts name them.
PROJECT_APPS = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)
P95_LIMIT_MS = 500


def parse_args():
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--users", type=int, default=50, help="simulated users at once")
    parser.add_argument("--run-time", default="5m", help="how long, in Locust's notation")
    parser.add_argument(
        "--steps",
        help="comma-separated numbers of users (e.g. 10,25,50,75), one run of --run-time "
        "each, instead of --users",
    )
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started a second")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--database", default="tracker_load")
    parser.add_argument(
        "--template",
        default="tracker_bench_100000",
        help="copied when missing (the 100,000 cases of `make bench`)",
    )
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--output", default="load-results.json")
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="sample the gunicorn workers with py-spy during each run: PREFIX-USERS.txt "
        "(collapsed stacks, for a flame graph) and the heaviest functions in the report",
    )
    return parser.parse_args()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_database(args):
    import psycopg

    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [args.database]
        ).fetchone()
        if not exists:
            print(f"Copying {args.template} to {args.database} ...", flush=True)
            conn.execute(f'CREATE DATABASE "{args.database}" TEMPLATE "{args.template}"')


def environment(args, workdir):
    """Production settings: DEBUG off, a secret key, allowed hosts, secure cookies and
    HTTPS as a TLS proxy reports it (X-Forwarded-Proto, sent by every simulated user).
    Two-factor sign-in is not required: a reviewer would otherwise owe a code from a
    phone at every sign-in, one request per session that the load does not measure."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{args.postgres}/{args.database}",
        "REDIS_URL": args.redis_url,
        "CACHE_URL": args.cache_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "REQUIRE_2FA": "0",
        "VAR_DIR": str(workdir),
        "EVIDENCE_ROOT": str(workdir / "evidence"),
        "LOG_LEVEL": "WARNING",
    }


def prepare():
    """The accounts the users sign in with, with new passwords each run."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.cache import cache
    from django.core.management import call_command

    from bench import dataset
    from tracker import roles

    call_command("migrate", verbosity=0)
    # As in production: the hashed static files the pages name, served by WhiteNoise.
    call_command("collectstatic", interactive=False, verbosity=0)
    # Earlier runs' sign-ins must not count towards a lockout.
    call_command("axes_reset", verbosity=0)
    # The copy may be new while the cache still holds what the pages kept of an earlier
    # one (the dashboards' counts are kept until a case is saved through Django, which
    # copying a database is not).
    cache.clear()
    users = dataset.users()
    users["stakeholder"], _ = get_user_model().objects.get_or_create(
        username="bench-stakeholder", defaults={"email": "bench-stakeholder@bench.invalid"}
    )
    users["stakeholder"].groups.add(Group.objects.get(name=roles.STAKEHOLDER))
    accounts = {}
    for role, user in users.items():
        password = secrets.token_urlsafe(16)
        user.set_password(password)
        user.save(update_fields=["password"])
        accounts[role] = {"username": user.username, "password": password}
    return accounts


def write_plan(accounts, path):
    """What the users work on, as bench/locustfile.py reads it. Made anew before each
    run: the cases in review are the ones the previous runs left."""
    from evidence.models import Source
    from tracker.models import Case, State

    reviewer = accounts["reviewer"]["username"]
    plan = {
        "accounts": accounts,
        "in_review": list(
            Case.objects.filter(state=State.IN_REVIEW)
            .exclude(created_by__username=reviewer)
            .values_list("pk", flat=True)[:5000]
        ),
        "sources": list(Source.objects.exclude(graded_by=None).values_list("pk", flat=True)[:50]),
    }
    path.write_text(json.dumps(plan))
    return str(path)


def serve(args, env, workdir, port):
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "config.wsgi"),
            *("--workers", str(args.workers), "--bind", f"127.0.0.1:{port}"),
            *("--error-logfile", str(workdir / "gunicorn.log")),
        ],
        cwd=ROOT,
        env=env,
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/login/", headers={"X-Forwarded-Proto": "https"}
    )
    for _ in range(120):
        try:
            urllib.request.urlopen(request, timeout=5)
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn stopped; see {workdir / 'gunicorn.log'}") from None
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("gunicorn did not answer within a minute")


def swarm(args, env, port, users, prefix, accounts, server):
    """One Locust run, headless, ending by itself after --run-time."""
    env = {**env, "LOAD_PLAN": write_plan(accounts, Path(f"{prefix}_plan.json"))}
    command = [
        *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"),
        *("--host", f"http://127.0.0.1:{port}", "--users", str(users)),
        *("--spawn-rate", str(args.spawn_rate), "--run-time", args.run_time),
        *("--stop-timeout", "30", "--csv", str(prefix), "--only-summary"),
        *("--loglevel", "WARNING"),
    ]
    started = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        # Other work on the machine shows here: it competes for the same cores.
        "load_average_before": os.getloadavg(),
    }
    sampler = profiler(args, server, users)
    subprocess.run(command, cwd=ROOT, env=env, check=False)
    step = {"users": users, "run_time": args.run_time, **started, **figures(prefix)}
    if sampler:
        # py-spy writes what it sampled when interrupted, as after Ctrl-C.
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=120)
        step["profile"] = heaviest(Path(f"{args.profile}-{users}.txt"))
    return step


def profiler(args, server, users):
    """py-spy sampling gunicorn's workers until interrupted, without pausing them."""
    if not args.profile:
        return None
    return subprocess.Popen(
        [
            *(
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--pid",
                str(server.pid),
                "--subprocesses",
                "--nonblocking",
            ),
            *("--format", "raw", "--rate", "10", "--output", f"{args.profile}-{users}.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# The project's own code, for "where did the workers' time go, by our function"; py-spy
# names a frame "function (path/relative/to/sys.path.py:line)".
PROJECT = tuple(f"({name}/" for name in PROJECT_APPS)
LINE = re.compile(r":\d+\)$")


def heaviest(collapsed, top=12):
    """From py-spy's collapsed stacks: the share of samples in which each of the
    project's functions was running (itself or what it called), and each function's
    own share, wherever it lies."""
    inclusive, own, total = {}, {}, 0
    for line in collapsed.read_bytes().decode(errors="replace").split("\n"):
        stack, _, count = line.rpartition(" ")
        if not (line.startswith("process ") and stack.endswith(")") and count.isdigit()):
            # Sampling a worker without pausing it, py-spy now and then reads a stack
            # as it changes: a torn line, not "process …;function (file:line) count".
            continue
        count = int(count)
        total += count
        # A function, wherever in it the sample fell; not the worker process's name.
        frames = [LINE.sub(")", frame) for frame in stack.split(";") if " (" in frame]
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            if any(part in frame for part in PROJECT):
                inclusive[frame] = inclusive.get(frame, 0) + count

    def shares(counts):
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [[frame, round(100 * count / total, 1)] for frame, count in ranked]

    return {"samples": total, "ours_inclusive_pct": shares(inclusive), "own_pct": shares(own)}


def figures(prefix):
    with open(f"{prefix}_stats.csv") as stats:
        rows = list(csv.DictReader(stats))
    with open(f"{prefix}_failures.csv") as failures:
        errors = [
            f"{row['Method']} {row['Name']}: {row['Error']} ({row['Occurrences']}×)"
            for row in csv.DictReader(failures)
        ]
    total = next(row for row in rows if row["Name"] == "Aggregated")
    pages = json.loads(Path(f"{prefix}_pages.json").read_text())
    return {
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "requests_per_s": round(float(total["Requests/s"]), 1),
        "p95_ms": int(total["95%"]),
        "pages_p95_ms": pages["p95_ms"],
        "errors": errors,
        "endpoints": {
            f"{row['Type']} {row['Name']}": {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "median_ms": int(row["50%"]),
                "p95_ms": int(row["95%"]),
            }
            for row in rows
            if row["Name"] != "Aggregated"
        },
    }


def knee(steps):
    """The fewest users at which the p95 of the pages (every request but signing in)
    passes the limit, or None."""
    return next((step["users"] for step in steps if step["pages_p95_ms"] > P95_LIMIT_MS), None)


def print_step(step):
    print(
        f"\n{step['users']} users, {step['run_time']}: {step['requests']} requests, "
        f"{step['requests_per_s']} requests/s, p95 {step['p95_ms']} ms "
        f"(but signing in: {step['pages_p95_ms']} ms), "
        f"{step['failures']} failures"
    )
    for name, endpoint in step["endpoints"].items():
        print(
            f"  {name:<40} {endpoint['requests']:>6} requests  median {endpoint['median_ms']:>5} ms"
            f"  p95 {endpoint['p95_ms']:>5} ms  {endpoint['failures']} failures"
        )
    for error in step["errors"]:
        print(f"  error: {error}")
    if "profile" in step:
        profile = step["profile"]
        print(f"  profile, {profile['samples']} samples; our functions, with what they called:")
        for frame, share in profile["ours_inclusive_pct"]:
            print(f"    {share:>5} %  {frame}")
        print("  where the time was spent (own time):")
        for frame, share in profile["own_pct"]:
            print(f"    {share:>5} %  {frame}")


def main():
    args = parse_args()
    steps = [int(n) for n in args.steps.split(",")] if args.steps else [args.users]
    ensure_database(args)
    with tempfile.TemporaryDirectory(prefix="tracker-load-") as folder:
        workdir = Path(folder)
        env = environment(args, workdir)
        os.environ.update(env)
        accounts = prepare()
        port = free_port()
        server = serve(args, env, workdir, port)
        try:
            results = [
                swarm(args, env, port, users, workdir / f"step{users}", accounts, server)
                for users in steps
            ]
        finally:
            server.terminate()
            server.wait(timeout=60)
        from config.celery import app

        app.control.purge()
    report = {
        "command": " ".join(["python -m bench.load", *sys.argv[1:]]),
        "cores": os.cpu_count(),
        "gunicorn_workers": args.workers,
        "p95_limit_ms": P95_LIMIT_MS,
        "steps": results,
        "knee_users": knee(results) if args.steps else None,
    }
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    for step in results:
        print_step(step)
    if args.steps:
        print(f"\nThe pages' p95 passes {P95_LIMIT_MS} ms at: {report['knee_users']} users")
    print(f"\nFigures written to {args.output}")
    if any(step["failures"] for step in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
