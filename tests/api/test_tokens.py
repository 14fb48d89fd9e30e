"""Personal API tokens: made and revoked by their owner on the account pages and by
administrators in the admin, shown once, kept as a digest, read-only or read-write,
refused once expired or revoked, and never more than their owner."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken, Scope, TokenRefused, digest_of
from tests import factories
from tracker import roles
from tracker.models import Case

NEW_CASE = {
    "title": "Shells by rail",
    "summary": "Containers moved from Rajin.",
    "incident_type": "munitions_shipment",
    "incident_start": "2024-02-27",
    "place_name": "Rajin",
    "country": "KP",
}


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_token_is_shown_once_kept_as_a_digest_and_revoked_by_its_owner(monitor, other_monitor):
    page = signed_in(monitor)
    made = page.post(
        "/account/api-tokens/",
        {"name": "collection script", "scope": "write", "expires_in": "30"},
        follow=True,
    )
    # Made by a POST answered with a redirect, so reloading the page makes no second one.
    assert made.redirect_chain == [("/account/api-tokens/", 302)]
    secret = re.search(r'value="(trk_[^"]+)"', made.content.decode()).group(1)
    assert made["Cache-Control"].startswith("max-age=0")
    token = ApiToken.objects.get()
    assert token.digest == digest_of(secret) and secret not in str(vars(token))
    assert token.expires_at.date() == (timezone.now() + timedelta(days=30)).date()
    assert bearer(secret).get("/api/v1/cases/").status_code == 200

    listed = page.get("/account/api-tokens/").content.decode()
    assert token.display in listed and secret not in listed

    # Someone else's token is not theirs to revoke (nor to learn of).
    assert (
        signed_in(other_monitor).post(f"/account/api-tokens/{token.pk}/revoke/").status_code == 404
    )
    assert page.post(f"/account/api-tokens/{token.pk}/revoke/").status_code == 302
    refused = bearer(secret).get("/api/v1/cases/")
    assert refused.status_code == 401
    assert "was revoked on" in refused.json()["detail"]
    assert refused["Content-Type"] == "application/problem+json"
    assert refused["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header, message",
    [
        ("Bearer", "one word after Bearer"),
        ("Bearer trk_nothing", "not an API token of this site"),
        ("Bearer trk_0123456789ab_secret", "Unknown API token"),
        ("Bearer trk_abc_def", "not an API token of this site"),
        ("Bearer trk_\x00\x00_def", "not an API token of this site"),
        ("Bearer not-a-token", "not an API token of this site"),
        ("Bearer a b", "one word after Bearer"),
    ],
)
def test_a_token_that_is_not_one_is_refused_with_the_reason(db, header, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/cases/")
    assert response.status_code == 401
    assert message in response.json()["detail"]


def test_an_expired_token_is_refused(monitor):
    _, secret = ApiToken.issue(monitor, "old", expires_at=timezone.now() - timedelta(minutes=1))
    response = bearer(secret).get("/api/v1/cases/")
    assert response.status_code == 401
    assert "expired on" in response.json()["detail"]


def test_a_read_only_token_reads_and_changes_nothing(monitor, case_factory):
    case = case_factory("draft", title="Shells by rail")
    _, secret = ApiToken.issue(monitor, "dashboard", Scope.READ)
    client = bearer(secret)
    assert client.get(f"/api/v1/cases/{case.reference}/").status_code == 200
    for method, url, body in [
        ("post", "/api/v1/cases/", NEW_CASE),
        ("patch", f"/api/v1/cases/{case.reference}/", {"title": "Changed"}),
        ("post", f"/api/v1/cases/{case.reference}/actions/withdraw/", {}),
        ("post", "/api/v1/sources/", {"name": "A new source", "kind": "other"}),
    ]:
        response = getattr(client, method)(url, body)
        assert response.status_code == 403, url
        assert "read-only" in response.json()["detail"]
    case.refresh_from_db()
    assert (case.title, case.state, Case.objects.count()) == ("Shells by rail", "draft", 1)


def test_a_token_acts_with_its_owners_permissions_as_they_are_now(monitor, stakeholder):
    _, of_stakeholder = ApiToken.issue(stakeholder, "partner", Scope.WRITE)
    refused = bearer(of_stakeholder).post("/api/v1/cases/", NEW_CASE)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only monitors can log a case."

    _, of_monitor = ApiToken.issue(monitor, "script", Scope.WRITE)
    assert bearer(of_monitor).post("/api/v1/cases/", NEW_CASE).status_code == 201
    case = Case.objects.get()
    factories.context_for(case)
    monitor.groups.set([Group.objects.get(name=roles.REVIEWER)])
    assert bearer(of_monitor).post("/api/v1/cases/", NEW_CASE).status_code == 403
    # Their own draft is not theirs to move either, now that they review.
    for action in ("submit", "withdraw"):
        moved = bearer(of_monitor).post(f"/api/v1/cases/{case.reference}/actions/{action}/")
        assert moved.status_code == 403, action
    case.refresh_from_db()
    assert (case.state, case.transitions.count()) == ("draft", 0)
    monitor.is_active = False
    monitor.save()
    inactive = bearer(of_monitor).get("/api/v1/cases/")
    assert inactive.status_code == 401
    assert "inactive" in inactive.json()["detail"]


def test_a_token_is_found_by_its_prefix_in_one_query_without_sorting(monitor):
    row, secret = ApiToken.issue(monitor, "script")
    ApiToken.issue(monitor, "another script")
    with CaptureQueriesContext(connection) as queries:
        found = ApiToken.verify(secret)
    assert found == row and found.user == monitor
    assert len(queries) == 1
    assert row.prefix in str(queries[0]["sql"]) and "ORDER BY" not in queries[0]["sql"]
    with pytest.raises(TokenRefused, match="Unknown API token"):
        ApiToken.verify(secret[:-1] + ("A" if secret[-1] != "A" else "B"))


def test_the_last_use_is_recorded_at_most_once_a_minute(monitor):
    token, secret = ApiToken.issue(monitor, "script")
    client = bearer(secret)
    client.get("/api/v1/weapon-systems/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/weapon-systems/")
    assert not [query for query in queries if query["sql"].startswith("UPDATE")]
    token.refresh_from_db()
    assert token.last_used_at == first


def test_the_last_use_is_recorded_again_a_minute_later(monitor):
    token, secret = ApiToken.issue(monitor, "script")
    client = bearer(secret)
    for age, written_again in [(59, False), (61, True)]:
        earlier = timezone.now() - timedelta(seconds=age)
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
        client.get("/api/v1/weapon-systems/")
        token.refresh_from_db()
        assert (token.last_used_at != earlier) is written_again, age


def test_reviewers_who_must_use_two_factor_sign_in_must_enrol_before_their_token_works(
    reviewer, settings
):
    _, secret = ApiToken.issue(reviewer, "review script", Scope.WRITE)
    settings.REQUIRE_2FA = True
    refused = bearer(secret).get("/api/v1/cases/")
    assert refused.status_code == 401
    assert "two-factor" in refused.json()["detail"]
    settings.REQUIRE_2FA = False
    assert bearer(secret).get("/api/v1/cases/").status_code == 200


def test_the_browsers_session_works_with_its_csrf_check(monitor):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(monitor)
    assert client.get("/api/v1/cases/").status_code == 200
    refused = client.post("/api/v1/cases/", NEW_CASE)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    client.get("/account/api-tokens/")  # sets the CSRF cookie, as a page would
    csrf = client.cookies["csrftoken"].value
    assert client.post("/api/v1/cases/", NEW_CASE, HTTP_X_CSRFTOKEN=csrf).status_code == 201


def test_administrators_issue_and_revoke_tokens_in_the_admin(admin_user, monitor):
    admin = signed_in(admin_user)
    made = admin.post(
        "/admin/api/apitoken/add/",
        {
            "user": monitor.pk,
            "name": "partner feed",
            "scope": "read",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert made.status_code == 200
    secret = re.search(r'value="(trk_[^"]+)"', made.content.decode()).group(1)
    token = ApiToken.objects.get()
    assert (token.user, token.scope, token.digest) == (monitor, "read", digest_of(secret))
    assert bearer(secret).get("/api/v1/cases/").status_code == 200
    assert secret not in admin.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()

    admin.post(
        "/admin/api/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk], "index": 0},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert bearer(secret).get("/api/v1/cases/").status_code == 401


def test_a_password_change_revokes_the_tokens_made_with_the_old_one(monitor):
    """Someone with a stolen password (or session) makes a token; the owner changes the
    password, which signs the thief out, and the token no longer works either."""
    monitor.set_password("old pass phrase 1718")
    monitor.save()
    thief = Client()
    thief.post("/login/", {"username": "monitor", "password": "old pass phrase 1718"})
    made = thief.post(
        "/account/api-tokens/", {"name": "x", "scope": "write", "expires_in": ""}, follow=True
    )
    secret = re.search(r'value="(trk_[^"]+)"', made.content.decode()).group(1)
    assert bearer(secret).get("/api/v1/cases/").status_code == 200

    owner = Client()
    owner.post("/login/", {"username": "monitor", "password": "old pass phrase 1718"})
    new = "new pass phrase 2397"
    changed = owner.post(
        "/account/password/",
        {"old_password": "old pass phrase 1718", "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert "your API tokens revoked" in changed.content.decode()
    assert bearer(secret).post("/api/v1/cases/", NEW_CASE, format="json").status_code == 401
    assert Case.objects.count() == 0
    assert ApiToken.objects.get().revoked_at is not None


def test_an_administrator_setting_a_password_revokes_the_users_tokens(admin_user, monitor):
    _, secret = ApiToken.issue(monitor, "feed", Scope.READ)
    new = "new pass phrase 2397"
    signed_in(admin_user).post(
        f"/admin/auth/user/{monitor.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
    monitor.refresh_from_db()
    assert monitor.check_password(new)
    assert bearer(secret).get("/api/v1/cases/").status_code == 401


def test_an_administrator_renames_a_token_but_cannot_widen_it(admin_user, monitor):
    token, secret = ApiToken.issue(monitor, "partner feed", Scope.READ)
    changed = signed_in(admin_user).post(
        f"/admin/api/apitoken/{token.pk}/change/",
        {
            "name": "partner feed (Reuters)",
            "user": admin_user.pk,
            "scope": "write",
            "expires_at_0": "2099-01-01",
            "expires_at_1": "00:00:00",
        },
    )
    assert changed.status_code == 302
    token.refresh_from_db()
    assert token.name == "partner feed (Reuters)"
    assert (token.user, token.scope, token.expires_at) == (monitor, "read", None)
    refused = bearer(secret).post("/api/v1/cases/", NEW_CASE, format="json")
    assert refused.status_code == 403


def test_only_administrators_manage_tokens_in_the_admin(monitor, reviewer):
    for user in (monitor, reviewer):
        assert signed_in(user).get("/admin/api/apitoken/").status_code == 403


def test_an_administrator_cannot_issue_a_token_that_has_already_expired(admin_user, monitor):
    # Found by posting the admin's add form with "0001-01-01 00:00:00" as the expiry:
    # the token was made and shown once, and every use of it answered 401.
    made = signed_in(admin_user).post(
        "/admin/api/apitoken/add/",
        {
            "user": monitor.pk,
            "name": "partner feed",
            "scope": "read",
            "expires_at_0": "0001-01-01",
            "expires_at_1": "00:00:00",
        },
    )
    assert made.status_code == 200
    assert "This time is already past" in made.content.decode()
    assert not ApiToken.objects.exists()
