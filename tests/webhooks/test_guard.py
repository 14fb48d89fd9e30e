"""Server-side request forgery: webhooks never reach a private, loopback or
link-local address unless WEBHOOK_ALLOW_PRIVATE says so, checked when an endpoint is
registered and again at each delivery, on the addresses actually connected to."""

import socket

import pytest
from django.contrib.auth.models import Permission

from tests import factories
from webhooks import client, delivery
from webhooks.models import Endpoint, Event, WebhookDelivery

from .conftest import SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def guarded(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "address, reason",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.20.0.5", "private"),
        ("192.168.1.10", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4 behind an IPv6 mapping
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "not a public"),  # carrier-grade shared space
    ],
)
def test_addresses_that_are_not_public_are_refused(address, reason):
    assert reason in client.refusal(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_allowed(address):
    assert client.refusal(address) is None


def test_a_host_is_refused_when_any_of_its_addresses_is_private(guarded, monkeypatch):
    def two_addresses(host, port, type):
        return [
            (socket.AF_INET, type, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, type, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    with pytest.raises(client.ForbiddenAddress, match="10.0.0.7 is a private address"):
        client.resolve("partner.example.org", 443)


def test_a_delivery_to_a_loopback_address_is_refused_at_send_time_and_nothing_sent(
    guarded, receiver, case_factory
):
    # Registered past the admin's check (or a name that resolves elsewhere now).
    Endpoint.objects.create(
        name="Internal",
        url=receiver.url.replace("127.0.0.1", "localhost"),
        secret=SECRET,
        events=[Event.SUBMITTED],
    )
    case_factory("submitted")
    row = WebhookDelivery.objects.select_related("endpoint").get()

    delivery.deliver(row)

    row.refresh_from_db()
    assert receiver.received == []
    assert (row.status, row.attempts, row.response_status) == ("failed", 1, None)
    assert "localhost refused:" in row.last_error
    assert "is a loopback address" in row.last_error


def test_only_https_is_called_where_it_is_required(settings, receiver, case_factory):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    Endpoint.objects.create(name="Plain", url=receiver.url, secret=SECRET, events=[Event.SUBMITTED])
    case_factory("submitted")
    row = WebhookDelivery.objects.select_related("endpoint").get()

    delivery.deliver(row)

    row.refresh_from_db()
    assert (row.status, row.last_error) == ("failed", "Only https:// URLs are allowed.")
    assert receiver.received == []


def registration(client_, **fields):
    return client_.post(
        "/admin/webhooks/endpoint/add/",
        {
            "name": "Partner",
            "url": "https://hooks.partner.example/tracker",
            "events": [Event.APPROVED],
            "secret": SECRET,
            "active": "on",
            "disabling_notices-TOTAL_FORMS": "0",
            "disabling_notices-INITIAL_FORMS": "0",
            **fields,
        },
    )


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://127.0.0.1/hook", "127.0.0.1 refused: 127.0.0.1 is a loopback address"),
        ("https://[::1]:8443/hook", "::1 refused: ::1 is a loopback address"),
        ("https://169.254.169.254/latest/", "is a link-local address"),
        ("https://10.0.0.5/hook", "10.0.0.5 is a private address"),
        ("https://localhost/hook", "localhost refused:"),
        ("http://93.184.215.14/hook", "Only https:// URLs are allowed."),
        ("ftp://93.184.215.14/hook", "Only https:// URLs are allowed."),
    ],
)
def test_the_admin_refuses_to_register_what_webhooks_may_not_reach(
    guarded, settings, admin_client_, url, message
):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    response = registration(admin_client_, url=url)
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors["url"])
    assert not Endpoint.objects.exists()


def test_the_admin_registers_an_endpoint_on_a_public_address(guarded, settings, admin_client_):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    response = registration(admin_client_, url="https://93.184.215.14/hook")
    assert response.status_code == 302
    endpoint = Endpoint.objects.get()
    assert (endpoint.url, endpoint.events, endpoint.secret) == (
        "https://93.184.215.14/hook",
        [Event.APPROVED],
        SECRET,
    )


def test_only_http_and_https_where_plain_http_is_allowed(admin_client_):
    response = registration(admin_client_, url="ftp://127.0.0.1/hook")
    assert "Only http:// and https:// URLs" in str(response.context["adminform"].form.errors)


def test_a_secret_too_short_to_resist_guessing_is_refused(admin_client_):
    response = registration(admin_client_, url="http://127.0.0.1:9/hook", secret="hunter2")
    assert "at least 16 characters" in str(response.context["adminform"].form.errors["secret"])


def test_each_new_endpoint_gets_a_secret_of_its_own(admin_client_):
    first = admin_client_.get("/admin/webhooks/endpoint/add/").context["adminform"].form
    second = admin_client_.get("/admin/webhooks/endpoint/add/").context["adminform"].form
    assert len(first["secret"].value()) >= 40
    assert first["secret"].value() != second["secret"].value()


def test_staff_who_are_not_administrators_see_no_webhooks(client):
    reviewer = factories.reviewer()
    # Even a staff user given the model permissions by hand.
    reviewer.user_permissions.add(*Permission.objects.filter(content_type__app_label="webhooks"))
    client.force_login(reviewer)
    assert client.get("/admin/webhooks/endpoint/").status_code == 403
    assert client.get("/admin/webhooks/webhookdelivery/").status_code == 403
    assert b"Webhooks" not in client.get("/admin/").content
