import re
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories
from tests.accounts.conftest import PASSWORD, code_for_secret, code_from_app
from tracker.models import State

LOGIN = reverse("login")
CODE = reverse("accounts:sign_in_code")
SETUP = reverse("accounts:two_factor_setup")
ADMIN = reverse("admin:index")

pytestmark = pytest.mark.django_db


def sign_in(client, username, next_url=None, url=LOGIN):
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(url, data)


def signed_in(client):
    return "_auth_user_id" in client.session


def test_enrolling_shows_a_qr_code_and_takes_the_apps_code(client, reviewer):
    client.force_login(reviewer)
    page = client.get(SETUP)
    html = page.content.decode()
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', html)[1]
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)
    # The page stays inside the strict CSP: the QR code is a data: image, no inline style.
    assert "data:" in page["Content-Security-Policy"].split("img-src")[1].split(";")[0]
    assert "style=" not in html and "<script" not in html
    assert secret in client.get(SETUP).content.decode()  # the same until confirmed
    assert not TOTPDevice.objects.exists()  # looking at the page writes nothing

    response = client.post(SETUP, {"code": code_for_secret(secret)})

    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", response.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=reviewer).confirmed
    assert "Write these codes down" in response.content.decode()
    # The page shows the same secret until a code confirms it; now it says it is on.
    assert client.get(SETUP).url == reverse("accounts:account")


def test_a_wrong_enrolment_code_enrols_nobody(client, monitor):
    client.force_login(monitor)
    client.get(SETUP)
    response = client.post(SETUP, {"code": "000000"})
    assert "That is not the code the app shows now" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=monitor, confirmed=True).exists()


@pytest.mark.parametrize("role", ["reviewer", "monitor", "stakeholder", "admin_user"])
def test_an_enrolled_user_is_signed_in_only_with_the_code(client, role, request, enrol):
    user = request.getfixturevalue(role)
    if role == "admin_user":
        user.set_password(PASSWORD)
        user.save()
    device, _ = enrol(user)

    response = sign_in(client, user.username)

    assert response.url == CODE
    assert not signed_in(client)
    assert client.get(ADMIN).status_code == 302  # to the sign-in page
    response = client.post(CODE, {"code": code_from_app(device.bin_key)})
    assert response.url == reverse("tracker:dashboard")
    assert signed_in(client)
    assert client.get(reverse("accounts:account")).status_code == 200


def test_the_admin_sign_in_asks_for_the_code_too_and_returns_to_the_admin(client, reviewer, enrol):
    device, _ = enrol(reviewer)
    response = sign_in(client, "reviewer", next_url=ADMIN, url=reverse("admin:login"))
    assert response.url == CODE
    assert client.get(ADMIN).status_code == 302
    response = client.post(CODE, {"code": code_from_app(device.bin_key)})
    assert response.url == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_once_an_administrator_deletes_a_lost_phones_device_the_password_suffices(
    client, monitor, enrol
):
    device, _ = enrol(monitor)
    device.delete()
    assert sign_in(client, "monitor").url == reverse("tracker:dashboard")


def test_a_wrong_code_signs_nobody_in(client, reviewer, enrol):
    enrol(reviewer)
    sign_in(client, "reviewer")
    response = client.post(CODE, {"code": "12345"})
    assert response.status_code == 200
    assert "That code is wrong, expired or already used" in response.content.decode()
    assert not signed_in(client)


def test_the_code_page_without_a_password_first_goes_back_to_sign_in(client):
    assert client.get(CODE).url == LOGIN
    assert client.post(CODE, {"code": "123456"}).url == LOGIN


def test_a_recovery_code_signs_in_once(client, monitor, enrol):
    _, codes = enrol(monitor)
    sign_in(client, "monitor")
    assert client.post(CODE, {"code": codes[0].upper()}).status_code == 302
    assert signed_in(client)

    client.post(reverse("logout"))
    sign_in(client, "monitor")
    response = client.post(CODE, {"code": codes[0]})
    assert "already used" in response.content.decode()
    assert not signed_in(client)
    assert client.post(CODE, {"code": codes[1]}).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(client, monitor, enrol):
    device, old_codes = enrol(monitor)
    sign_in(client, "monitor")
    client.post(CODE, {"code": code_from_app(device.bin_key)})

    response = client.post(reverse("accounts:recovery_codes"))

    new_codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", response.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    client.post(reverse("logout"))
    sign_in(client, "monitor")
    assert client.post(CODE, {"code": old_codes[0]}).status_code == 200
    assert client.post(CODE, {"code": new_codes[0]}).status_code == 302


def test_a_session_signed_in_without_the_code_gets_no_recovery_codes(client, monitor, enrol):
    _, codes = enrol(monitor)
    client.force_login(monitor)  # as a session opened before enrolling
    response = client.post(reverse("accounts:recovery_codes"), follow=True)
    assert "need a session signed in with a code" in response.content.decode()
    other = Client()
    sign_in(other, "monitor")
    assert other.post(CODE, {"code": codes[0]}).status_code == 302  # still valid


def test_repeated_wrong_codes_lock_out_like_wrong_passwords(client, reviewer, enrol, settings):
    device, codes = enrol(reviewer)
    sign_in(client, "reviewer")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(CODE, {"code": "000000"}).status_code == 200
    response = client.post(CODE, {"code": "000000"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()

    # Locked: neither the password nor a right code gets in.
    assert sign_in(client, "reviewer").status_code == 429
    assert client.post(CODE, {"code": code_from_app(device.bin_key)}).url == LOGIN
    assert not signed_in(client)


def test_wrong_passwords_and_wrong_codes_add_up(client, reviewer, enrol, settings):
    enrol(reviewer)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(LOGIN, {"username": "reviewer", "password": "wrong"})
    # The right password alone is no success that would reset the count.
    assert sign_in(client, "reviewer").url == CODE
    assert client.post(CODE, {"code": "000000"}).status_code == 429


def test_a_locked_out_users_recovery_code_is_not_used_up(client, reviewer, enrol, settings):
    _, codes = enrol(reviewer)
    sign_in(client, "reviewer")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(CODE, {"code": "000000"})
    other = Client()
    sign_in(other, "reviewer")
    client.post(CODE, {"code": "000000"})  # the lock falls
    assert other.post(CODE, {"code": codes[0]}).status_code == 429
    assert reviewer.staticdevice_set.get().token_set.filter(token=codes[0]).exists()


@pytest.fixture
def require_2fa(settings):
    settings.REQUIRE_2FA = True


@pytest.mark.parametrize("role", ["reviewer", "admin_user"])
def test_with_2fa_required_reviewers_and_admins_must_enrol_first(
    client, role, request, require_2fa
):
    client.force_login(request.getfixturevalue(role))
    for url in (ADMIN, reverse("admin:tracker_case_changelist"), reverse("tracker:dashboard")):
        assert client.get(url).url == SETUP
    page = client.get(SETUP).content.decode()
    assert "Reviewers and administrators must set up two-factor sign-in" in page


def test_with_2fa_required_an_unenrolled_reviewer_cannot_post_review_actions(
    client, reviewer, case_factory, require_2fa
):
    case = case_factory("in_review")
    factories.corroborate(case)
    client.force_login(reviewer)
    response = client.post(
        reverse("admin:tracker_case_transition", args=[case.pk, "approve"]), {"comment": "ok"}
    )
    assert response.url == SETUP
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


def test_with_2fa_required_a_reviewer_works_once_enrolled(client, reviewer, require_2fa):
    client.force_login(reviewer)
    secret = re.search(r'class="secret">(\w+)<', client.get(SETUP).content.decode())[1]
    client.post(SETUP, {"code": code_for_secret(secret)})
    assert client.get(ADMIN).status_code == 200


def test_with_2fa_required_a_session_opened_without_the_code_is_signed_out(
    client, reviewer, enrol, require_2fa
):
    enrol(reviewer)
    client.force_login(reviewer)  # e.g. signed in elsewhere before enrolling there
    response = client.get(ADMIN)
    assert response.url.startswith(LOGIN)
    assert not signed_in(client)


@pytest.mark.parametrize("role", ["monitor", "stakeholder"])
def test_with_2fa_required_monitors_and_stakeholders_need_not_enrol(
    client, role, request, require_2fa
):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("tracker:dashboard")).status_code == 200
    page = client.get(reverse("accounts:account")).content.decode()
    assert "You may" in page


def test_2fa_is_required_by_default_only_when_debug_is_off():
    code = "from django.conf import settings; print(settings.REQUIRE_2FA)"
    results = {}
    for debug in ("1", "0"):
        results[debug] = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=django_settings.BASE_DIR,
            env={"PATH": "/usr/bin:/bin", "DEBUG": debug, "SECRET_KEY": "x" * 50},
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout.split()[-1]
    assert results == {"1": "False", "0": "True"}
