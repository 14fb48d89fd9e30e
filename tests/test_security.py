import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

LOGIN = reverse("login")
PASSWORD = "correct horse battery staple"


def sign_in(client, password):
    return client.post(LOGIN, {"username": "monitor", "password": password}, follow=True)


def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_one(
    client, monitor, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, "wrong")
        assert "Please enter a correct username and password" in response.content.decode()
    response = sign_in(client, "wrong")
    assert response.status_code == 429
    response = sign_in(client, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_sign_in_is_throttled_too(client, monitor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("admin:login"), {"username": "monitor", "password": "wrong"})
    response = client.post(reverse("admin:login"), {"username": "monitor", "password": PASSWORD})
    assert response.status_code == 429


def test_a_success_before_the_limit_starts_the_count_again(client, monitor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 200
    client.logout()
    sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 200


def test_new_passwords_are_hashed_with_argon2(settings):
    from django.contrib.auth.hashers import check_password, make_password

    import config.settings

    # tests/conftest.py swaps in a fast hasher; put the project's own list back.
    settings.PASSWORD_HASHERS = config.settings.PASSWORD_HASHERS
    encoded = make_password(PASSWORD)
    assert encoded.startswith("argon2$")
    assert check_password(PASSWORD, encoded)


def test_pages_send_a_strict_content_security_policy(client, monitor):
    client.force_login(monitor)
    policy = client.get(reverse("tracker:case_list"))["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy


def test_cookies_are_httponly_and_samesite(client, monitor):
    csrf = client.get(LOGIN).cookies[django_settings.CSRF_COOKIE_NAME]
    response = client.post(LOGIN, {"username": "monitor", "password": PASSWORD})
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    for cookie in (csrf, session):
        assert cookie["httponly"]
        assert cookie["samesite"] == "Lax"


def production_env():
    env = {
        name: value
        for name, value in os.environ.items()
        # The test run's own settings, and the browser tests' async-safety switch.
        if name not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    # What the README's "Running in production" asks for; SMTP is only configured,
    # never contacted by the checks.
    env.update(
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="tracker.example.org",
        EMAIL_HOST="smtp.example.org",
        SECURE_HSTS_PRELOAD="true",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


@pytest.mark.timeout(120)
def test_check_deploy_reports_nothing_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=django_settings.BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.timeout(120)
def test_production_settings_make_cookies_secure_and_send_hsts():
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, "
        "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=django_settings.BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split()[-6:] == ["True"] * 6, result.stdout + result.stderr
