"""A tiny run of `python -m bench.imports`, so the import benchmark keeps working as the
code changes. It checks that the figures are measured, not how fast anything is."""

import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("kind", [[], ["--xlsx"]], ids=["csv", "xlsx"])
def test_a_tiny_import_bench_runs(kind):
    database = settings.DATABASES["default"]
    postgres = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.imports",
            "--rows",
            "40",
            "--database",
            f"{database['NAME']}_bench_imports",
            "--postgres",
            postgres,
            *kind,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=settings.BASE_DIR,
    )
    import psycopg

    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database["NAME"]}_bench_imports" WITH (FORCE)')
    assert run.returncode == 0, run.stdout + run.stderr
    assert "cases imported: 40" in run.stdout
    assert "rows/s" in run.stdout
    assert "peak memory (whole process):" in run.stdout
