"""The application run the way the README's "Running in production" deploys it: its own
migrated PostgreSQL database, `collectstatic`, gunicorn with production settings (DEBUG
unset, HTTPS redirect on), behind a TLS-terminating proxy, simulated by sending
`X-Forwarded-Proto: https` with every request, as the proxy would."""

import http.client
import re
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from tests.conftest import free_port
from tests.test_security import production_env

pytestmark = [pytest.mark.production, pytest.mark.postgres, pytest.mark.browser]

PASSWORD = "correct horse battery staple"
HASHED = r"\.[0-9a-f]{12}\.css"
# Without DEBUG, REQUIRE_2FA is on for reviewers and administrators: a monitor signs in
# with the password alone, as a reviewer would once enrolled (the browser tests cover
# the second factor).
MAKE_MONITOR = "from tests import factories; factories.monitor()"


def manage(env, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def site(scratch_database, tmp_path):
    """The base URL of gunicorn serving a fresh deployment on a free localhost port."""
    port = free_port()
    env = production_env()
    env.update(
        DATABASE_URL=scratch_database("production"),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="1",
        # The browser talks plain HTTP to the simulated proxy, so the Origin of its form
        # posts is http://; behind a real proxy it is the https:// site, which needs no
        # setting.
        CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{port}",
        STATIC_ROOT=str(tmp_path / "static"),
        VAR_DIR=str(tmp_path / "var"),
    )
    manage(env, "migrate", "--no-input")
    manage(env, "collectstatic", "--no-input")
    manage(env, "shell", "-c", MAKE_MONITOR)
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as output:
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2"]
            + ["--bind", f"127.0.0.1:{port}"],
            cwd=django_settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, gunicorn, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)


def wait_for_port(port, process, log, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"gunicorn stopped:\n{log.read_text()}"
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("HEAD", "/")
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"gunicorn did not answer within {timeout} s:\n{log.read_text()}")


def test_a_monitor_signs_in_and_gets_styled_pages_and_admin_with_every_protection(
    site, browser, csp_violations
):
    plain_http = http.client.HTTPConnection(site.removeprefix("http://"))
    plain_http.request("GET", "/login/")
    redirect = plain_http.getresponse()
    assert redirect.status == 301
    assert redirect.getheader("Location").startswith("https://")

    # The proxy's part: it tells the application the request came over HTTPS.
    context = browser.new_context(extra_http_headers={"X-Forwarded-Proto": "https"})
    page = csp_violations(context.new_page())
    responses = {}
    page.on("response", lambda response: responses.__setitem__(response.url, response))

    page.goto(f"{site}/")
    page.get_by_label("Username").fill("monitor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert_protected_page(responses[page.url])
    assert_styled(page, responses, rf"/static/vendor/pico/pico\.min{HASHED}")

    page.goto(f"{site}/admin/")
    expect(page.get_by_role("heading", name="Cases, evidence and review")).to_be_visible()
    assert_protected_page(responses[page.url])
    assert_styled(page, responses, rf"/static/admin/css/base{HASHED}")

    assert csp_violations.violations == []


def assert_protected_page(response):
    headers = response.all_headers()
    assert response.status == 200
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "style-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def assert_styled(page, responses, stylesheet):
    """The page links ``stylesheet`` under its hashed name, the browser got it
    compressed with the security headers and a year's caching, and applied it."""
    hrefs = page.locator("link[rel=stylesheet]").evaluate_all("links => links.map(l => l.href)")
    [url] = [href for href in hrefs if re.search(stylesheet + "$", href)]
    response = responses[url]
    headers = response.all_headers()
    assert response.status == 200
    assert headers["content-type"].startswith("text/css")
    assert headers["cache-control"] == "max-age=315360000, public, immutable"
    assert headers["content-encoding"] in {"gzip", "br"}
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    rules = page.evaluate(
        "url => [...document.styleSheets].find(s => s.href === url).cssRules.length", url
    )
    assert rules > 0
