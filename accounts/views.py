"""Signing in (password, then a code for those who enrolled), enrolling in two-factor
sign-in, recovery codes and the password change."""

import django_otp
from axes.handlers.proxy import AxesProxyHandler
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.contrib.messages.views import SuccessMessageMixin
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import two_factor
from .forms import EnrolmentForm, SignInCodeForm

# The user who gave the right password and still owes the code: {user, backend, next}.
PENDING_SIGN_IN = "accounts.pending_sign_in"


class SignInView(LoginView):
    """Step one, the password. A user who enrolled is not signed in yet: only the code
    (step two) signs them in. Until then nothing counts as a success for django-axes,
    so wrong passwords and wrong codes add up to one lockout."""

    def form_valid(self, form):
        user = form.get_user()
        if two_factor.authenticator(user) is None:
            return super().form_valid(form)
        self.request.session[PENDING_SIGN_IN] = {
            "user": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
        }
        return redirect("accounts:sign_in_code")


@sensitive_post_parameters("code")
@never_cache
def sign_in_code(request):
    pending = request.session.get(PENDING_SIGN_IN)
    user = pending and auth.get_user_model().objects.filter(pk=pending["user"]).first()
    if not user or not user.is_active:
        return redirect("login")
    form = SignInCodeForm(user)
    if request.method == "POST":
        credentials = {"username": user.get_username()}
        form = SignInCodeForm(user, request.POST)
        # A locked-out user's code is not even checked (a recovery code is not used up).
        if AxesProxyHandler.is_allowed(request, credentials) and form.is_valid():
            del request.session[PENDING_SIGN_IN]
            auth.login(request, user, backend=pending["backend"])
            django_otp.login(request, form.device)
            return redirect(pending["next"])
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if request.axes_locked_out:
            # The password must be given again once the lock lifts; django-axes's
            # middleware answers this request with its lockout page.
            del request.session[PENDING_SIGN_IN]
            return redirect("login")
    return render(request, "registration/login_code.html", {"form": form})


@login_required
def account(request):
    device = two_factor.authenticator(request.user)
    return render(
        request,
        "accounts/account.html",
        {
            "authenticator": device,
            "recovery_codes_left": device and two_factor.recovery_codes_left(request.user),
            "must_enrol": two_factor.must_use_two_factor(request.user),
        },
    )


@sensitive_post_parameters("code")
@never_cache
@login_required
def two_factor_setup(request):
    if two_factor.authenticator(request.user):
        messages.info(request, "Two-factor sign-in is already on for your account.")
        return redirect("accounts:account")
    device = two_factor.authenticator_to_confirm(request.user, request.session)
    form = EnrolmentForm(device, request.POST or None)
    if form.is_valid():
        codes = two_factor.confirm(device, request.session)
        django_otp.login(request, device)
        return render(request, "accounts/recovery_codes.html", {"codes": codes, "enrolled": True})
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_code": two_factor.qr_code(device),
            "secret": two_factor.secret(device),
            "must_enrol": two_factor.must_use_two_factor(request.user),
        },
    )


@never_cache
@require_POST
@login_required
def recovery_codes(request):
    if not request.user.is_verified():
        # The codes stand in for the phone: a session opened without it gets none.
        messages.error(
            request,
            "New recovery codes need a session signed in with a code: sign out, sign "
            "in again with your authenticator app, then ask for them.",
        )
        return redirect("accounts:account")
    codes = two_factor.new_recovery_codes(request.user)
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


class PasswordChange(SuccessMessageMixin, PasswordChangeView):
    """Django's password change: it keeps this session signed in, while every other
    session of the user ends, as its stored password hash no longer matches."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:account")
    success_message = (
        "Your password is changed; your other sessions are signed out and your API tokens revoked."
    )
