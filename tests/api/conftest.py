import pytest
from rest_framework.test import APIClient

from api.models import ApiToken, Scope


@pytest.fixture
def token_client(db):
    """An API client sending a new token of ``user`` (read-write unless told)."""

    def make(user, scope=Scope.WRITE, **fields):
        _, token = ApiToken.issue(user, "test script", scope, **fields)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make
