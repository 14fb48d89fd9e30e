"""The page where a signed-in user subscribes to the weekly digest and changes their
own subscription, and its country chooser."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from digests.models import Subscription
from tests import factories
from tracker.models import IncidentType

pytestmark = pytest.mark.django_db
PAGE = reverse("digests:subscription")


def test_a_stakeholder_subscribes_with_their_own_address(client, stakeholder):
    client.force_login(stakeholder)
    page = client.get(PAGE).content.decode()
    assert "You are not subscribed yet." in page
    assert stakeholder.email in page

    response = client.post(
        PAGE,
        {"active": "on", "incident_types": ["battlefield_use"], "countries": ["UA", "PL"]},
        follow=True,
    )
    subscription = Subscription.objects.get()
    assert subscription.email == stakeholder.email
    assert subscription.user == stakeholder
    assert subscription.active
    assert subscription.incident_types == [IncidentType.BATTLEFIELD_USE]
    assert sorted(country.code for country in subscription.countries) == ["PL", "UA"]
    assert f"Subscribed: the weekly digest goes to {stakeholder.email}." in (
        response.content.decode()
    )


def test_the_page_changes_the_subscription_sent_to_the_users_address(client, stakeholder):
    theirs = Subscription.objects.create(email=stakeholder.email.upper(), countries=["RU"])
    someone_elses = Subscription.objects.create(email="committee@example.org", countries=["RU"])
    client.force_login(stakeholder)
    page = client.get(PAGE).content.decode()
    assert "You are subscribed." in page

    client.post(PAGE, {"countries": ["UA"]})  # "active" unticked: paused
    theirs.refresh_from_db()
    someone_elses.refresh_from_db()
    assert [country.code for country in theirs.countries] == ["UA"]
    assert not theirs.active
    assert [country.code for country in someone_elses.countries] == ["RU"]
    assert Subscription.objects.count() == 2


def test_nothing_in_the_request_reaches_another_subscription(client, stakeholder):
    other = Subscription.objects.create(email="committee@example.org")
    client.force_login(stakeholder)
    client.post(PAGE, {"email": other.email, "user": "", "id": other.pk, "countries": ["UA"]})
    other.refresh_from_db()
    assert not other.countries
    assert Subscription.objects.get(user=stakeholder).email == stakeholder.email


def test_an_unknown_country_is_explained_and_nothing_is_saved(client, stakeholder):
    client.force_login(stakeholder)
    response = client.post(PAGE, {"active": "on", "countries": ["UA", "XX"]})
    assert response.status_code == 200
    assert "Select a valid choice. XX is not one of the available choices." in (
        response.content.decode()
    )
    assert not Subscription.objects.exists()


def test_an_account_without_an_address_is_told_so(client, stakeholder):
    stakeholder.email = ""
    stakeholder.save()
    client.force_login(stakeholder)
    assert "Your account has no email address" in client.get(PAGE).content.decode()
    client.post(PAGE, {"active": "on"})
    assert not Subscription.objects.exists()


def test_only_a_signed_in_reader_of_cases_has_one(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]
    no_role = factories.UserFactory(username="no-role", is_staff=False)
    client.force_login(no_role)
    assert client.post(PAGE, {"active": "on"}).status_code == 403
    assert not Subscription.objects.exists()
    no_role.user_permissions.add(Permission.objects.get(codename="view_case"))
    client.force_login(no_role)
    assert client.get(PAGE).status_code == 200


def test_the_chosen_countries_are_listed_above_the_checkboxes(client, stakeholder):
    Subscription.objects.create(email=stakeholder.email, countries=["UA", "RU"])
    client.force_login(stakeholder)
    page = client.get(PAGE).content.decode()
    chosen = page[page.index("Chosen:") : page.index("</ul>", page.index("Chosen:"))]
    assert "<li>Russia</li>" in chosen and "<li>Ukraine</li>" in chosen
    # Every country is a checkbox, so the page works without the script; the script
    # (a file of the site: the CSP allows no inline script) adds the filter.
    assert page.count('type="checkbox" name="countries"') > 240
    assert 'value="UA" id="id_countries_' in page and "checked" in page
    assert '<script src="/static/js/filtered-checkboxes.js"></script>' in page
    assert "<script>" not in page


def test_nothing_chosen_means_every_country(client, stakeholder):
    client.force_login(stakeholder)
    page = client.get(PAGE).content.decode()
    chosen = page[page.index("Chosen:") : page.index("</ul>", page.index("Chosen:"))]
    assert "every country" in chosen and "<li>" not in chosen


def test_the_admin_uses_the_same_chooser(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("admin:digests_subscription_add")).content.decode()
    assert "data-filtered-checkboxes" in page
    assert "/static/js/filtered-checkboxes.js" in page
    response = client.post(
        reverse("admin:digests_subscription_add"),
        {
            "email": "committee@example.org",
            "active": "on",
            "countries": ["UA", "PL"],
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
            "case_link_views-TOTAL_FORMS": "0",
            "case_link_views-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    subscription = Subscription.objects.get()
    assert sorted(country.code for country in subscription.countries) == ["PL", "UA"]


def test_the_account_page_leads_here(client, monitor):
    client.force_login(monitor)
    assert f'href="{PAGE}"' in client.get(reverse("accounts:account")).content.decode()
