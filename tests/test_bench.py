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
            "--store-mb",
            "16",
            "--repeat",
            "3",
            "--dossier-cases",
            "10",
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
    stdout, figures = run_bench(tmp_path, "tracker_bench_smoke", "--digest-subscriptions", "12,20")

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
    dossier = figures["dossier_pdf"]
    assert dossier["cases"] == 10 and dossier["pages"] >= 10 and dossier["median_s"] > 0
    assert "dossier PDF (10 cases)" in stdout
    # The case list's page deep by cursor and the admin's deepest page, each against
    # its first page, at the same cost in queries.
    for first, deep in [
        ("case_list_unfiltered", "case_list_deep"),
        ("admin_changelist_unfiltered", "admin_changelist_deep"),
    ]:
        assert figures[deep]["queries"] == figures[first]["queries"] > 0
        assert figures[deep]["p95_ms"] >= figures[deep]["median_ms"] > 0
    assert 0 < figures["case_list_deep"]["depth"] < 300
    assert figures["admin_changelist_deep"]["page"] >= 1
    assert "search, common words / a place" in stdout
    # Two runs: the data set's 12 subscriptions, then 20 (8 added for it).
    assert [run["sent"] for run in figures["digests"]] == [12, 20]
    for run in figures["digests"]:
        assert run["per_digest_queries"] > 0
        assert run["worker_peak_rss_mb"]["max_process"] > 0
        assert run["per_message_ms"] > 0 and run["smtp_floor_per_message_ms"] > 0
        assert run["mean_message_kb"] > 1
    assert "digest memory, 12 → 20" in stdout
    assert figures["reminders_scan"]["median_ms"] > 0
    assert [run["size_mb"] for run in figures["ingest"]] == [1, 8]
    assert all(run["sha256sum_s"] > 0 and run["hashlib_s"] > 0 for run in figures["ingest"])
    integrity = figures["integrity"]
    assert integrity["files"] == 128 and integrity["hashlib_mb_s"] > 0
    for workers in ("workers_1", "workers_2"):
        assert integrity[workers]["chunks"] == 8 and integrity[workers]["mb_s"] > 0
    assert integrity["one_worker_ratio"] > 0 and integrity["two_workers_ratio"] > 0
    assert "integrity check, 2 workers" in stdout
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


# Three processes, each migrating a database of its own: slow on a busy machine.
@pytest.mark.timeout(600)
def test_a_growth_run_measures_each_size_and_prints_the_growth(tmp_path):
    stdout, figures = run_bench(
        tmp_path,
        "tracker_bench_growth_smoke",
        *("--sizes", "150,300", "--only", "api", "--only", "reminders", "--only", "ingest"),
    )

    assert sorted(figures["sizes"], key=int) == ["150", "300"]
    for size, run in figures["sizes"].items():
        assert run["dataset"]["cases"] == int(size)
        assert run["dataset"]["evidence_items"] == 5 * int(size)
        assert run["reminders_scan"]["median_ms"] > 0
        assert "ingest" not in run and "digests" not in run
    small, large = figures["sizes"]["150"], figures["sizes"]["300"]
    for page in ("api_case_list", "api_case_list_deep"):
        assert small[page]["queries"] == large[page]["queries"] > 0
    assert "growth (300/150)" in stdout
    assert "api case list (p95 ms)" in stdout and "reminders scan (p95 ms)" in stdout
    # What does not grow with the archive, once, on the set nearest 100,000 cases.
    assert figures["once"]["cases"] == 300
    assert [run["size_mb"] for run in figures["once"]["ingest"]] == [1, 8]
    assert "api_case_list" not in figures["once"]
    assert "Once, on the data set of 300 cases" in stdout


def test_a_larger_archive_is_more_years_of_the_same_weeks_work():
    from bench import dataset
    from tracker.models import State

    def week(cases):
        weights = dict(zip(dataset.STATE_WEIGHTS, dataset.state_weights(cases), strict=True))
        share = {state: weight / sum(weights.values()) for state, weight in weights.items()}
        waiting = round(cases * sum(share[state] for state in dataset.WAITING))
        approved_a_week = cases * share[State.APPROVED] / (dataset._years(cases) * 52)
        return waiting, approved_a_week

    waiting, approved = week(100_000)
    assert (waiting, round(approved)) == (35_000, 173)
    waiting_1m, approved_1m = week(1_000_000)
    assert waiting_1m == waiting
    assert abs(approved_1m - approved) / approved < 0.01
    assert dataset._years(1_000_000) == 74
    assert week(10_000)[0] == 3_500  # below the pace, the same shares as before
