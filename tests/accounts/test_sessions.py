from datetime import UTC, datetime, timedelta

from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from tests.accounts.conftest import PASSWORD

LOGIN = reverse("login")
DASHBOARD = reverse("tracker:dashboard")
NEW_PASSWORD = {
    "new_password1": "a new and long passphrase",
    "new_password2": "a new and long passphrase",
}
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def signed_in_client(username):
    client = Client()
    client.post(LOGIN, {"username": username, "password": PASSWORD})
    assert "_auth_user_id" in client.session
    return client


def test_an_idle_session_is_signed_out_and_an_active_one_is_not(monitor, settings, time_machine):
    time_machine.move_to(START, tick=False)
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert idle == timedelta(hours=8)  # SESSION_IDLE_MINUTES' default
    client = signed_in_client("monitor")

    # Used just within the idle time, twice over: each request moves the expiry along.
    time_machine.move_to(START + idle - timedelta(minutes=1))
    assert client.get(DASHBOARD).status_code == 200
    time_machine.move_to(START + 2 * idle - timedelta(minutes=3))
    assert client.get(DASHBOARD).status_code == 200

    time_machine.move_to(START + 3 * idle)
    response = client.get(DASHBOARD)
    assert response.url.startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_the_idle_time_is_a_setting(monitor, settings, time_machine):
    settings.SESSION_COOKIE_AGE = 15 * 60
    time_machine.move_to(START, tick=False)
    client = signed_in_client("monitor")
    time_machine.move_to(START + timedelta(minutes=16))
    assert client.get(DASHBOARD).url.startswith(LOGIN)


def test_pages_do_not_write_the_session_more_than_once_a_minute(monitor, time_machine):
    time_machine.move_to(START, tick=False)
    client = signed_in_client("monitor")
    expiry = Session.objects.get().expire_date
    time_machine.move_to(START + timedelta(seconds=30))
    client.get(DASHBOARD)
    assert Session.objects.get().expire_date == expiry
    time_machine.move_to(START + timedelta(seconds=90))
    client.get(DASHBOARD)
    assert Session.objects.get().expire_date == expiry + timedelta(seconds=90)


def test_changing_the_password_signs_out_the_other_sessions(monitor):
    here, elsewhere = signed_in_client("monitor"), signed_in_client("monitor")
    response = here.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, **NEW_PASSWORD},
        follow=True,
    )
    assert "your other sessions are signed out" in response.content.decode()
    assert here.get(DASHBOARD).status_code == 200
    assert elsewhere.get(DASHBOARD).url.startswith(LOGIN)
    assert "_auth_user_id" not in elsewhere.session


def test_a_wrong_old_password_changes_nothing(monitor):
    client = signed_in_client("monitor")
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": "a new one x9", "new_password2": "a new one x9"},
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    monitor.refresh_from_db()
    assert monitor.check_password(PASSWORD)


def test_the_admins_own_password_change_keeps_its_session_and_ends_the_others(monitor):
    here, elsewhere = signed_in_client("monitor"), signed_in_client("monitor")
    response = here.post(
        reverse("admin:password_change"), {"old_password": PASSWORD, **NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert here.get(DASHBOARD).status_code == 200
    assert elsewhere.get(DASHBOARD).url.startswith(LOGIN)


def test_an_administrator_setting_a_users_password_signs_that_user_out(client, admin_user, monitor):
    monitors_session = signed_in_client("monitor")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[monitor.pk]),
        {"password1": NEW_PASSWORD["new_password1"], "password2": NEW_PASSWORD["new_password2"]},
    )
    assert response.status_code == 302
    assert monitors_session.get(DASHBOARD).url.startswith(LOGIN)
    assert client.get(reverse("admin:index")).status_code == 200
