"""A digest's case links: each opens its one approved case, read-only, without a
login, for as long as the subscription is active, the case approved and the link no
older than DIGEST_LINK_DAYS; every opening is on record; the link grants nothing else."""

import re
import subprocess
import sys
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from digests import weekly
from digests.models import CaseLinkView, Subscription
from evidence.models import Stance
from tests import factories
from tests.conftest import this_week_end
from tracker import workflow
from tracker.models import SanctionsProvision, WeaponSystem

pytestmark = pytest.mark.django_db


def text_of(message):
    return message.get_body(("plain",)).get_content()


def case_links(message):
    """The case links of a sent digest, from its text version."""
    return re.findall(r"http://localhost:8000(/digests/case/\S+/)", text_of(message))


@pytest.fixture
def author(db):
    return factories.monitor("m.petrenko")


@pytest.fixture
def decider(db):
    return factories.reviewer("r.kovalenko")


@pytest.fixture
def approved_case(case_factory, author, decider):
    """An approved case with what a stakeholder may see and what they may not."""
    case = case_factory(
        "in_review",
        created_by=author,
        by_reviewer=decider,
        title="Hwasong-11 debris in Kharkiv",
        summary="Debris of a missile that hit Kharkiv derives from a DPRK Hwasong-11.",
        place_name="Kharkiv",
        country="UA",
        reported_quantity="one missile (debris)",
    )
    case.weapon_systems.add(WeaponSystem.objects.create(name="Hwasong-11 ballistic missile"))
    case.sanctions_provisions.add(
        SanctionsProvision.objects.create(resolution="1874 (2009)", paragraph="9")
    )
    factories.EvidenceItemFactory(
        case=case,
        source=factories.SourceFactory(name="UN sanctions monitors"),
        stance=Stance.SUPPORTS,
        title="UN monitors: the debris is a Hwasong-11",
        url="https://www.reuters.com/world/un-monitors-hwasong-11",
    )
    workflow.approve(
        case,
        decider,
        comment="Internal: ask the desk to double-check the launch site.",
        justification="The UN monitors' forensic finding stands on its own.",
    )
    return case


@pytest.fixture
def committee(db):
    return Subscription.objects.create(email="committee@example.org")


@pytest.fixture
def link(mailbox, committee, approved_case):
    """The case link of the digest the committee was sent."""
    weekly.deliver_digest(committee, this_week_end())
    [message] = mailbox.wait_for(1, subject="Weekly digest")
    [path] = case_links(message)
    return path


def test_a_link_from_a_sent_digest_opens_the_approved_case_without_a_login(
    client, link, approved_case, committee, author, decider
):
    response = client.get(link)

    assert response.status_code == 200
    page = response.content.decode()
    for shown in (
        "Hwasong-11 debris in Kharkiv",
        approved_case.reference,
        "derives from a DPRK Hwasong-11",
        f"Approved on {timezone.localdate():%-d %B %Y}",
        approved_case.incident_period,
        "Kharkiv, Ukraine",
        "Hwasong-11 ballistic missile",
        "UNSCR 1874 (2009), para. 9",
        "one missile (debris)",
        "UN monitors: the debris is a Hwasong-11",
        "UN sanctions monitors",
        "https://www.reuters.com/world/un-monitors-hwasong-11",
        "Approved below the corroboration minimum",
        "The UN monitors&#x27; forensic finding stands on its own.",
    ):
        assert shown in page, shown
    # What stays inside the team: who logged and reviewed it, their comments, files.
    for hidden in (
        author.username,
        decider.username,
        "Internal: ask the desk",
        "Review timeline",
        "/evidence/",
        "/admin/",
    ):
        assert hidden not in page, hidden
    [view] = CaseLinkView.objects.all()
    assert (view.subscription, view.case) == (committee, approved_case)


def test_the_link_grants_no_session_and_no_other_page(client, link, case_factory, reviewer):
    other = case_factory("approved", by_reviewer=reviewer, title="Shells by rail to Russia")

    response = client.get(link)

    assert response.status_code == 200
    assert django_settings.SESSION_COOKIE_NAME not in response.cookies
    assert "no-store" in response["Cache-Control"]
    # The evidence's links lead to other sites, which must not learn the token.
    assert response["Referrer-Policy"] == "same-origin"
    assert "Shells by rail to Russia" not in response.content.decode()
    for page in ("/", "/cases/", f"/cases/{other.pk}/", "/admin/"):
        assert client.get(page).status_code == 302, f"{page} still needs a sign-in"


def test_each_opening_is_on_record_and_only_an_administrator_reads_it(
    client, admin_client, link, committee, stakeholder
):
    client.get(link)
    client.get(link)

    assert CaseLinkView.objects.filter(subscription=committee).count() == 2
    listing = admin_client.get("/admin/digests/caselinkview/")
    assert listing.status_code == 200
    assert "committee@example.org" in listing.content.decode()
    view = CaseLinkView.objects.first()
    assert admin_client.get("/admin/digests/caselinkview/add/").status_code == 403
    change = admin_client.get(f"/admin/digests/caselinkview/{view.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    subscription_page = admin_client.get(f"/admin/digests/subscription/{committee.pk}/change/")
    assert "Cases opened from the digests" in subscription_page.content.decode()
    client.force_login(stakeholder)
    assert client.get("/admin/digests/caselinkview/").status_code == 302


def test_after_a_reopen_the_link_says_the_case_is_no_longer_available(
    client, link, approved_case, admin_user
):
    workflow.reopen(approved_case, admin_user, "A source was retracted.")

    response = client.get(link)

    assert response.status_code == 410
    page = response.content.decode()
    assert "This case is no longer available" in page
    assert "no longer among the approved findings" in page
    assert "Hwasong-11 debris in Kharkiv" not in page
    assert "css/tracker.css" in page, "a page in the site's layout"
    assert not CaseLinkView.objects.exists()


def test_after_unsubscribing_the_link_says_the_case_is_no_longer_available(client, link, committee):
    client.post(urlsplit(committee.get_unsubscribe_url()).path)

    response = client.get(link)

    assert response.status_code == 410
    assert "The subscription this link was sent to has ended." in response.content.decode()
    assert not CaseLinkView.objects.exists()


def test_a_link_opens_for_digest_link_days_and_no_longer(
    client, settings, committee, approved_case
):
    settings.DIGEST_LINK_DAYS = 30
    almost = factories.case_link_token(committee, approved_case, age=timedelta(days=29))
    expired = factories.case_link_token(committee, approved_case, age=timedelta(days=30, hours=1))

    assert client.get(f"/digests/case/{almost}/").status_code == 200
    response = client.get(f"/digests/case/{expired}/")

    assert response.status_code == 410
    assert "work for 30 days, and this one is older" in response.content.decode()
    assert CaseLinkView.objects.count() == 1


def test_a_link_edited_to_open_another_case_or_for_another_subscriber_is_refused(
    client, committee, approved_case, case_factory, reviewer
):
    other = case_factory("approved", by_reviewer=reviewer, title="Shells by rail to Russia")
    analyst = Subscription.objects.create(email="analyst@example.org")
    token = factories.case_link_token(committee, approved_case)

    for bad in (
        factories.with_payload(token, committee.pk, other.pk),
        factories.with_payload(token, analyst.pk, approved_case.pk),
        token[:-2],
        committee.unsubscribe_token(),
        "not-a-token",
    ):
        response = client.get(f"/digests/case/{bad}/")
        assert response.status_code == 404, bad
        assert "This case link is not valid" in response.content.decode()
        assert "Shells by rail" not in response.content.decode()
    assert not CaseLinkView.objects.exists()


def test_a_link_to_a_case_that_is_not_approved_opens_nothing(client, committee, case_factory):
    for state in ("draft", "submitted", "in_review", "rejected", "withdrawn"):
        case = case_factory(state, title=f"A case {state}")
        response = client.get(f"/digests/case/{factories.case_link_token(committee, case)}/")
        assert response.status_code == 410, state
        assert f"A case {state}" not in response.content.decode()
    assert not CaseLinkView.objects.exists()


def test_the_link_is_read_only(client, committee, approved_case):
    path = f"/digests/case/{factories.case_link_token(committee, approved_case)}/"

    assert client.post(path, {"title": "Tampered"}).status_code == 405
    assert client.head(path).status_code == 405
    assert not CaseLinkView.objects.exists()


def test_a_preview_links_to_the_cases_own_page_not_the_subscribers_links(
    admin_client, committee, approved_case
):
    html = admin_client.get(
        f"/digests/preview/{committee.pk}/", {"period_end": this_week_end().isoformat()}
    ).content.decode()

    assert f'href="http://localhost:8000/cases/{approved_case.pk}/"' in html
    assert "/digests/case/" not in html


def test_a_digest_link_days_that_is_not_a_number_of_days_stops_start_up():
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env={"DEBUG": "1", "DIGEST_LINK_DAYS": "0", "PATH": ""},
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "DIGEST_LINK_DAYS must be a number of days, 1 or more, not 0" in result.stderr
