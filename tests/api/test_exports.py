"""The case list's exports through the API: the same files, the same list."""

import pytest

from api.models import Scope
from tests.exchange.test_exports import FORMATS, read


@pytest.mark.parametrize("format", FORMATS)
def test_the_api_exports_the_same_list_to_a_read_only_token(
    case_factory, stakeholder, token_client, format
):
    approved = case_factory("approved", place_name="Kharkiv")
    case_factory("approved", place_name="Bryansk")
    case_factory("submitted", place_name="Kharkiv")
    api = token_client(stakeholder, Scope.READ)
    response = api.get(f"/api/v1/cases/export.{format}", {"q": "Kharkiv"}, HTTP_ACCEPT="*/*")
    rows = read(response, format)
    assert [row["reference"] for row in rows] == [approved.reference]


def test_the_api_explains_a_filter_it_cannot_read(token_client, monitor):
    response = token_client(monitor).get(
        "/api/v1/cases/export.csv", {"incident_from": "2024-13-01"}, HTTP_ACCEPT="text/csv"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["parameter"] == "incident_from"
    assert error["detail"].startswith("“2024-13-01” is not a date.")
    assert token_client(monitor).get("/api/v1/cases/export.pdf").status_code == 404
