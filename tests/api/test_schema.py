"""The committed schema (docs/openapi.yaml, what partners read and generate clients
from) is the code's: `make schema` writes it, and this fails until it is rerun."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_the_committed_schema_is_the_one_the_code_makes(tmp_path):
    made = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(made))
    assert made.read_text() == COMMITTED.read_text(), (
        "docs/openapi.yaml is not the schema the code makes: run `make schema` and commit it"
    )


@pytest.mark.django_db
def test_the_schema_and_its_docs_are_served_to_anyone():
    client = Client()
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert schema.content.decode() == COMMITTED.read_text()
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui-bundle.js" in docs.content and b"<script>" not in docs.content
