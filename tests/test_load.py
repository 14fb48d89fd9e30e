"""A short run of `make load` on a tiny data set, so the simulated users keep working as
the pages change: every one signs in and no request fails. How fast is not checked."""

import json
import os
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings

from bench import load
from tests.test_bench import run_bench

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the load test needs Redis"),
]


def test_a_short_load_run_signs_every_user_in_and_no_request_fails(tmp_path):
    run_bench(tmp_path, "tracker_load_smoke_data", "--pages-only")
    database = settings.DATABASES["default"]
    postgres = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS tracker_load_smoke WITH (FORCE)")
    redis = os.environ["REDIS_URL"].rsplit("/", 1)[0]
    output = tmp_path / "load.json"

    run = subprocess.run(
        [
            *(sys.executable, "-m", "bench.load", "--users", "6", "--spawn-rate", "6"),
            *("--run-time", "20s", "--postgres", postgres),
            *("--template", "tracker_load_smoke_data", "--database", "tracker_load_smoke"),
            *("--redis-url", f"{redis}/13", "--cache-url", f"{redis}/11"),
            *("--output", str(output), "--profile", str(tmp_path / "profile")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=settings.BASE_DIR,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    [step] = json.loads(output.read_text())["steps"]
    assert step["failures"] == 0 and step["errors"] == []
    assert step["endpoints"]["POST sign in"]["requests"] == 6
    # Monitors and stakeholders on the site's pages, reviewers in the admin.
    assert step["endpoints"]["GET case list"]["requests"] > 0
    assert step["endpoints"]["GET admin case list"]["requests"] > 0
    # Monitors and reviewers come back to their dashboard.
    assert step["endpoints"]["GET dashboard"]["requests"] > 0
    # The workers were sampled: the collapsed stacks are there for a flame graph, and
    # the report names the project's own functions among those that took the time
    # (which ones, in a 20-second run, is mostly the workers' first imports).
    assert (tmp_path / "profile-6.txt").stat().st_size > 0
    profile = step["profile"]
    assert profile["samples"] > 0
    ours = [frame for frame, _share in profile["ours_inclusive_pct"]]
    assert ours and all(any(part in frame for part in load.PROJECT) for frame in ours), ours
    assert "our functions" in run.stdout
