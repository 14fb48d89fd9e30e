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


def test_a_tiny_benchmark_run_measures_every_figure(tmp_path):
    database = settings.DATABASES["default"]
    postgres = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
    output = tmp_path / "bench.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
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
            "tracker_bench_smoke",
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
    figures = json.loads(output.read_text())

    for page in ("case_list", "case_search", "case_search_common_words", "admin_changelist"):
        assert figures[page]["queries"] > 0
        assert figures[page]["p95_ms"] >= figures[page]["median_ms"] > 0
        assert figures[page]["floor_p95_ms"] > 0
    assert figures["digests"]["sent"] == 12
    assert figures["digests"]["per_digest_queries"] > 0
    assert figures["digests"]["worker_peak_rss_mb"]["max_process"] > 0
    assert figures["reminders_scan"]["median_ms"] > 0
    assert [run["size_mb"] for run in figures["ingest"]] == [1, 8]
    assert all(run["sha256sum_s"] > 0 for run in figures["ingest"])
