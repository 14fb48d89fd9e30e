from django.contrib.auth.models import Permission

from tests import factories


def test_a_users_own_and_group_permissions_are_read_in_one_query(db, django_assert_num_queries):
    monitor = factories.monitor()
    monitor.user_permissions.add(Permission.objects.get(codename="review_case"))
    monitor = type(monitor).objects.get(pk=monitor.pk)

    with django_assert_num_queries(1):
        assert monitor.has_perm("tracker.add_case")  # from the Monitor group
        assert monitor.has_perm("tracker.review_case")  # given to the user directly
        assert not monitor.has_perm("tracker.reopen_case")


def test_inactive_users_have_no_permissions_and_superusers_have_all(db, admin_user):
    monitor = factories.monitor()
    monitor.is_active = False
    assert not monitor.has_perm("tracker.add_case")
    assert "tracker.reopen_case" in admin_user.get_all_permissions()
