"""Browser tests: Playwright drives Debian's chromium against Django's live server.

No browser is downloaded: Playwright launches the system's /usr/bin/chromium (CI
installs it, see .ci/run). Without it the tests are skipped, except in CI.
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the
# tests make around it are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Run the browser tests last (their modules mark them ``browser``).

    Once Playwright's event loop runs, Django's connections are looked up per context,
    so a test after it gets a fresh connection object without the state the database
    set-up left on the old one (the serialized data other transactional tests restore).
    """
    here = Path(__file__).parent
    browser_tests = [item for item in items if here in Path(item.fspath).parents]
    for item in browser_tests:
        if not CHROMIUM.exists() and not os.environ.get("CI"):
            item.add_marker(pytest.mark.skip(reason=f"needs {CHROMIUM} (CI installs it)"))
    items[:] = [item for item in items if item not in browser_tests] + browser_tests


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """The role groups, which each transactional test's flush removes, made again the
    way the data migration makes them."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from tracker.roles import sync_roles

    sync_roles(MigrationExecutor(connection).loader.project_state().apps)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def csp_violations():
    """Console errors about the Content Security Policy, from every page watched."""
    violations = []

    def watch(page):
        page.on(
            "console",
            lambda message: (
                violations.append(f"{page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    watch.violations = violations
    return watch
