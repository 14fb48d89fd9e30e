"""The user's own API tokens, under Account: made (and shown once) and revoked by
their owner."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .forms import TokenForm
from .models import ApiToken

NEW_TOKEN = "api_token_just_made"


@never_cache
@login_required
def tokens(request):
    form = TokenForm(request.POST or None)
    if form.is_valid():
        _, secret = ApiToken.issue(
            request.user, form.cleaned_data["name"], form.cleaned_data["scope"], form.expires_at()
        )
        # Post/redirect/get: reloading the page that shows the token must not make
        # another. The secret waits in the user's own session for the one page that
        # shows it, and is gone from there once shown.
        request.session[NEW_TOKEN] = secret
        return redirect("api:tokens")
    secret = request.session.pop(NEW_TOKEN, None)
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "tokens": request.user.api_tokens.all(),
            "secret": secret,
        },
    )


@require_POST
@login_required
def revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.revoke()
    messages.success(request, f"The API token “{token.name}” ({token.display}) is revoked.")
    return redirect("api:tokens")
