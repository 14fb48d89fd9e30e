"""A tiny run of `make bench`, so the benchmark keeps working as the code changes.
It checks that every figure is measured, not how fast anything is."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the digest run needs Redis"),
]


PAGES = ("case_list", "case_search", "case_search_common_words", "admin_changelist")


def run_bench(tmp_path, database_name, *options):
    """A tiny run; its figures."""
    database = settings.DATABASES["default"]
    postgres = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
    output = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            *options,
            "--cases",
            "300",
            "--evidence",
            "1500",
            "--sources",
            "20",
            "--subscriptions",
            "12",
            "--ingest-mb",
            "8",
            "--repeat",
            "3",
            "--database",
            database_name,
            "--postgres",
            postgres,
            "--redis-url",
            os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/13",
            "--cache-url",
            os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/11",
            "--output",
            str(output),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=settings.BASE_DIR,
    )
    return run.stdout, json.loads(output.read_text())


def test_a_tiny_benchmark_run_measures_every_figure(tmp_path):
    stdout, figures = run_bench(tmp_path, "tracker_bench_smoke")

    assert stdout.startswith("calibration: SHA-256 ")
    assert figures["calibration"]["sha256_mb_s"] > 0 and figures["calibration"]["sql_probe_ms"] > 0
    for page in PAGES:
        assert figures[page]["queries"] > 0
        assert figures[page]["p95_ms"] >= figures[page]["median_ms"] > 0
        assert figures[page]["floor_p95_ms"] > 0
    for page in ("api_case_list", "api_case_list_deep"):
        assert figures[page]["queries"] > 0 and figures[page]["floor_p95_ms"] > 0
    assert figures["api_case_list_deep"]["queries"] == figures["api_case_list"]["queries"]
    assert 0 < figures["api_case_list_deep"]["depth"] < 300
    assert "API case list" in stdout
    assert figures["digests"]["sent"] == 12
    assert figures["digests"]["per_digest_queries"] > 0
    assert figures["digests"]["worker_peak_rss_mb"]["max_process"] > 0
    assert figures["reminders_scan"]["median_ms"] > 0
    assert [run["size_mb"] for run in figures["ingest"]] == [1, 8]
    assert all(run["sha256sum_s"] > 0 for run in figures["ingest"])
    exports = figures["exports"]
    assert [run["format"] for run in exports] == ["csv", "csv", "xlsx", "xlsx"]
    assert [run["cases"] for run in exports[:2]] == [run["cases"] for run in exports[2:]]
    assert 0 < exports[0]["cases"] <= 30 < exports[1]["cases"] <= 300
    assert all(run["seconds"] > 0 and run["queries"] > 0 for run in exports)
    assert "export xlsx" in stdout


def test_compare_serves_the_pages_with_another_commits_code_too(tmp_path):
    # HEAD's migrations are this checkout's, as --compare requires.
    stdout, figures = run_bench(
        tmp_path, "tracker_bench_compare_smoke", "--compare", "HEAD", "--pages-only"
    )

    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=settings.BASE_DIR
    ).stdout.strip()
    assert figures["compare"]["rev"] == head
    for page in PAGES:
        assert figures["compare"][page]["queries"] == figures[page]["queries"] > 0
        assert figures["compare"][page]["p95_ms"] >= figures["compare"][page]["median_ms"] > 0
    assert f"{head[:10]}: median / p95" in stdout
    assert "digests" not in figures
    worktrees = subprocess.run(
        ["git", "worktree", "list"], capture_output=True, text=True, cwd=settings.BASE_DIR
    ).stdout
    assert "tracker-bench-compare-" not in worktrees  # the checkout is removed afterwards
