import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests import factories
from tracker import workflow


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def monitor(db):
    return factories.monitor()


@pytest.fixture
def other_monitor(db):
    return factories.monitor("monitor2")


@pytest.fixture
def reviewer(db):
    return factories.reviewer()


@pytest.fixture
def other_reviewer(db):
    return factories.reviewer("reviewer2")


@pytest.fixture
def stakeholder(db):
    return factories.stakeholder()


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.org", "pw")


@pytest.fixture
def case_factory(db, monitor):
    """Make a case by ``monitor``, moved through the workflow into ``state``."""

    def make(state="draft", created_by=None, by_reviewer=None, **fields):
        creator = created_by or monitor
        case = factories.CaseFactory(created_by=creator, **fields)
        if state == "draft":
            return case
        workflow.submit(case, creator)
        if state == "submitted":
            return case
        the_reviewer = by_reviewer or factories.reviewer("reviewer-of-record")
        if state == "withdrawn":
            workflow.withdraw(case, creator)
            return case
        workflow.start_review(case, the_reviewer)
        if state == "changes_requested":
            workflow.request_changes(case, the_reviewer, "Needs a second source.")
        elif state == "approved":
            factories.corroborate(case)
            workflow.approve(case, the_reviewer)
        elif state == "rejected":
            workflow.reject(case, the_reviewer, "The claim is not substantiated.")
        return case

    return make


@pytest.fixture(autouse=True)
def evidence_root(settings, tmp_path):
    settings.EVIDENCE_ROOT = tmp_path / "evidence"
    return settings.EVIDENCE_ROOT


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
