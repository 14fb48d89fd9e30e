from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

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
