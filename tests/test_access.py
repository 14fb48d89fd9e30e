"""Every URL the project serves, as every role, on cases in every review state: what
README's "who sees what" forbids must never answer 200, show a hidden case or change a
row. The rules live in tests/access/rules.py; the URLs come from the URLconf, so a new
view is walked from its first day and fails here until it has a rule."""

import logging
from pathlib import Path

import pytest
from django.urls import path

from config.urls import urlpatterns as project_urls
from tests.access import walk, world

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# The administrator goes first: a page's form, as they see it, is what other users'
# POSTs send when their own GET showed no form.
ROLES = [
    "administrator",
    "monitor",
    "other monitor",
    "reviewer",
    "reviewing monitor",
    "stakeholder",
    "stakeholder with staff status",
    "anonymous",
]


def test_every_url_pattern_has_an_access_rule():
    unknown = walk.unknown_patterns()
    assert not unknown, (
        "URL patterns without an access rule (add them to tests/access/rules.py): "
        + ", ".join(unknown)
    )


def a_page_nobody_listed(request):
    raise AssertionError("never requested")


urlpatterns = [*project_urls, path("reports/secret/", a_page_nobody_listed)]


def test_a_new_url_pattern_is_named_until_it_has_a_rule(settings):
    settings.ROOT_URLCONF = __name__
    assert walk.unknown_patterns() == ["reports/secret/"]


@pytest.fixture
def quiet_request_log():
    # Thousands of refusals are the expected answers; their warnings are noise.
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


# The API is walked with these API tokens as well (tests/access/world.py).
TOKEN_ROLES = [*world.TOKEN_ROLES, *world.REFUSED_TOKEN_ROLES]


# Some 26,000 requests, the API's with each token role too: more than the suite's
# default five minutes on a busy machine.
@pytest.mark.timeout(1200)
def test_no_role_gets_what_the_rules_forbid(case_factory, quiet_request_log, monkeypatch):
    assert not walk.unknown_patterns(), "see test_every_url_pattern_has_an_access_rule"
    # A token's last use is the record of a read, like a session's: the world's tokens
    # were last used as the walk began, and are not written again while it runs.
    monkeypatch.setattr("api.models.LAST_USED_GRAIN_SECONDS", 24 * 60 * 60)
    the_walk = walk.Walk(world.build(case_factory))
    report = the_walk.run(ROLES, TOKEN_ROLES)
    assert not the_walk.changed_tables(), "a request's changes outlived its rollback"

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "access-walk.txt").write_text(f"{report.summary()}\n\n{report.details()}\n")
    print(report.summary())
    assert not report.failures, (
        f"{report.summary()}\n\nThe first of them (all in {ARTIFACTS / 'access-walk.txt'}):\n"
        + "\n".join(report.details().splitlines()[:30])
    )
