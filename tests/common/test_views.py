from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests import factories
from tracker.models import Case

CASE_FORM = {
    "title": "Shells by rail to Tikhoretsk",
    "summary": "Containers moved by rail.",
    "incident_type": "munitions_shipment",
    "incident_start": "2024-02-27",
    "date_precision": "day",
    "place_name": "Rajin",
    "country": "KP",
}


@contextmanager
def database_down():
    """The database unreachable, as while PostgreSQL restarts: every new connection is
    refused (on SQLite, the file cannot be opened)."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict["PORT"] = "1"
    else:
        connection.settings_dict["NAME"] = "/nonexistent/folder/tracker.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


# The outage closes the test's connection, so no test transaction can wrap it; the role
# groups the data migration made are restored after the flush.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_outage_of_the_database_is_a_try_again_page_not_a_stack_trace(monitor):
    client = Client(raise_request_exception=False)
    client.force_login(monitor)
    with database_down():
        responses = [
            client.get(reverse("tracker:case_list")),
            client.post(reverse("tracker:case_create"), CASE_FORM),
        ]

    for response in responses:
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        assert "Try again shortly" in response.content.decode()
    assert not Case.objects.exists()  # nothing half-written, once it is back


def test_a_fault_of_ours_is_the_sites_500_page(settings):
    settings.ROOT_URLCONF = "tests.common.failing_urls"
    client = Client(raise_request_exception=False)
    response = client.get("/fails/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "Try again shortly" not in response.content.decode()


def test_a_refusal_shows_the_reason_the_code_gave_in_the_sites_layout(client, stakeholder):
    client.force_login(stakeholder)
    response = client.get(reverse("tracker:case_create"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Only monitors can log a case." in page
    assert 'href="/static/' in page and "Evidence tracker" in page  # the site's layout


def test_a_case_one_may_not_see_is_the_sites_404_page(client, case_factory, other_monitor):
    draft = case_factory("draft")
    client.force_login(other_monitor)
    response = client.get(reverse("tracker:case", args=[draft.pk]))
    assert response.status_code == 404
    assert "There is nothing at this address that you may see." in response.content.decode()
    assert draft.title not in response.content.decode()


def test_a_form_sent_without_its_token_says_it_expired(monitor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(monitor)
    response = client.post(reverse("tracker:case_create"), CASE_FORM)
    assert response.status_code == 403
    assert "The form expired" in response.content.decode()
    assert not Case.objects.exists()


def test_a_bad_request_says_why_when_the_code_said_why(client, case_factory, monitor):
    case = case_factory()
    client.force_login(monitor)
    whole = factories.multipart({"title": "Manifest"}, "upload", "scan.txt", b"line\n" * 50_000)
    cut = {**whole, "data": whole["data"][: len(whole["data"]) // 2]}
    response = client.post(reverse("tracker:evidence_add", args=[case.pk]), **cut)
    assert response.status_code == 400
    assert "The upload was cut off before the whole file arrived" in response.content.decode()
