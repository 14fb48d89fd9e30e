"""schemathesis against the API's schema: every operation, as a monitor, a reviewer
and a stakeholder, with data made from the schema (valid and invalid): no server error,
and every answer (status, content type, headers, body) as the schema describes it."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import ApiToken, Scope
from tests import factories
from tracker.models import SanctionsProvision, State, WeaponSystem

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The world below is numbered from 1 in a fresh database (cases, their evidence, the
# sources): a path names one of its objects about half the time, and otherwise
# whatever schemathesis made up.
NUMBERS = st.one_of(st.none(), st.integers(min_value=1, max_value=2 * len(State)))


@pytest.fixture(autouse=True)
def requests_keep_the_tests_connection():
    """schemathesis calls the WSGI application itself, which closes the database
    connection after each request (Django's test client stops it as this does): the
    test's transaction, with its world, must outlive the requests."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(params=["monitor", "reviewer", "stakeholder"])
def token(request, case_factory, monitor, reviewer, stakeholder, settings):
    settings.API_RATE_LIMIT = "100000/minute"
    user = {"monitor": monitor, "reviewer": reviewer, "stakeholder": stakeholder}[request.param]
    WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24)")
    SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a)")
    admin = factories.UserFactory(username="schemathesis-admin", is_superuser=True)
    for state in State:
        case = case_factory(state)
        factories.manifest_on(case, admin)
    case_factory("draft")
    return ApiToken.issue(user, "schemathesis", Scope.WRITE)[1]


@schema.given(number=NUMBERS)
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_as_its_schema_says(case, number, token):
    path = case.path_parameters or {}
    if number and "reference" in path:
        path["reference"] = f"CASE-{timezone.now().year}-{number:04d}"
    if number and "id" in path:
        path["id"] = number
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
