import time

from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse

from . import two_factor

# What a reviewer or administrator who must enrol can still reach.
ENROLMENT_PATHS = ("accounts:two_factor_setup", "logout", "admin:logout")
LAST_ACTIVITY = "accounts.last_activity"
ACTIVITY_GRAIN_SECONDS = 60


def start_activity(sender, request, user, **kwargs):
    request.session[LAST_ACTIVITY] = time.time()


class IdleSessionMiddleware:
    """Keeps a signed-in session alive while it is used.

    The session engine ends a session ``SESSION_COOKIE_AGE`` (``SESSION_IDLE_MINUTES``)
    after it was last saved, and the next request is then signed out. Saving it on
    every request (``SESSION_SAVE_EVERY_REQUEST``) would cost a database write per page
    under the cached_db engine; saving it once a minute of activity moves the expiry
    along all the same, within a minute.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        now = time.time()
        if SESSION_KEY in session and now - session.get(LAST_ACTIVITY, 0) >= ACTIVITY_GRAIN_SECONDS:
            session[LAST_ACTIVITY] = now
        return self.get_response(request)


class EnrolmentRequiredMiddleware:
    """With ``REQUIRE_2FA`` on, a reviewer or administrator signed in without a second
    factor may only enrol or sign out: every other request, the admin's included and
    whatever its method, is sent to the enrolment page and changes nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and two_factor.must_use_two_factor(user)
            and not user.is_verified()
            and request.path_info not in {reverse(name) for name in ENROLMENT_PATHS}
        ):
            if two_factor.authenticator(user):
                # Enrolled, but this session was opened without a code (it began
                # before enrolling): it must sign in again, with the code.
                logout(request)
                return redirect_to_login(request.get_full_path())
            return redirect("accounts:two_factor_setup")
        return self.get_response(request)
