"""The page where a signed-in user subscribes to the weekly digest and changes their
subscription (the digest's preview and unsubscribe pages are in ``views``).

Nothing in the URL names a subscription: the page only ever shows and changes the
user's own, the one sent to their account's address (``subscribers.subscription_of``),
so no one reaches another's. Administrators manage everyone's in the admin.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render

from .forms import OwnSubscriptionForm
from .models import Subscription
from .subscribers import subscription_of


@login_required
@permission_required("tracker.view_case", raise_exception=True)
def own_subscription(request):
    """Who may read cases may follow the approved ones by email; each role has the
    permission."""
    user = request.user
    if not user.email:
        return render(request, "digests/subscription.html", {"no_address": True})
    subscription = subscription_of(user)
    form = OwnSubscriptionForm(
        request.POST if request.method == "POST" else None,
        instance=subscription or Subscription(email=user.email, user=user),
    )
    if form.is_valid():
        form.save()
        if subscription is None:
            messages.success(request, f"Subscribed: the weekly digest goes to {user.email}.")
        else:
            messages.success(request, "Your subscription is saved.")
        return redirect("digests:subscription")
    return render(
        request,
        "digests/subscription.html",
        {"form": form, "subscription": subscription, "email": user.email},
    )
