"""A password change ends the user's API tokens, as it ends their other sessions."""

from django.utils import timezone

from .models import ApiToken


class PasswordChangeRevokesApiTokens:
    """Listed among AUTH_PASSWORD_VALIDATORS for its ``password_changed``, which Django
    calls wherever a new password is saved (the account page, an administrator setting
    it in the admin, ``manage.py changepassword``): someone who used a stolen password
    or session to make a token loses it with the password. It refuses no password."""

    def validate(self, password, user=None):
        pass

    def password_changed(self, password, user=None):
        if user is not None and user.pk is not None:
            ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )

    def get_help_text(self):
        return "A new password revokes the account's API tokens."
