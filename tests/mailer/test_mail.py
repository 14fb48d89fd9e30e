import pytest

from mailer.mail import addresses_of, administrators
from tests import factories

pytestmark = pytest.mark.django_db


def test_addresses_leave_out_users_without_one(monitor, admin_user):
    silent = factories.UserFactory(email="")
    assert addresses_of([monitor, silent, admin_user]) == [monitor.email, admin_user.email]


def test_the_administrators_are_the_active_superusers(admin_user):
    factories.UserFactory(is_superuser=True, is_active=False)
    assert list(administrators()) == [admin_user]
