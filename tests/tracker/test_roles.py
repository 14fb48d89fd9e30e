import pytest
from django.contrib.auth.models import Group

from tracker import roles
from tracker.models import Case


def permissions_of(role):
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


@pytest.mark.django_db
def test_the_migration_creates_the_three_roles_with_their_permissions():
    for role, expected in roles.ROLE_PERMISSIONS.items():
        assert permissions_of(role) == set(expected)
    assert "tracker.review_case" not in permissions_of(roles.MONITOR)
    assert "tracker.add_case" not in permissions_of(roles.REVIEWER)


def test_what_each_role_sees(
    case_factory, monitor, other_monitor, reviewer, stakeholder, admin_user
):
    cases = {state: case_factory(state) for state in ("draft", "submitted", "approved", "rejected")}
    visible = lambda user: {c.state for c in Case.objects.visible_to(user)}  # noqa: E731

    assert visible(monitor) == {"draft", "submitted", "approved", "rejected"}
    assert visible(other_monitor) == {"submitted", "approved", "rejected"}
    assert visible(reviewer) == {"submitted", "approved", "rejected"}
    assert visible(stakeholder) == {"approved"}
    assert visible(admin_user) == set(cases)


def test_stakeholders_read_cases_on_the_site_not_in_the_admin(client, case_factory, stakeholder):
    case_factory("in_review", title="Unconfirmed shipment")
    case_factory("approved", title="Confirmed Hwasong-11 debris")
    stakeholder.is_staff = True  # by mistake
    stakeholder.save()
    client.force_login(stakeholder)
    assert client.get("/admin/tracker/case/").status_code == 302
    page = client.get("/cases/").content.decode()
    assert "Confirmed Hwasong-11 debris" in page
    assert "Unconfirmed shipment" not in page


def test_anonymous_users_see_nothing(client, case_factory):
    case_factory("approved")
    response = client.get("/admin/tracker/case/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
