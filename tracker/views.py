from datetime import date

from django.core.exceptions import PermissionDenied
from django.core.signing import BadSignature
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import digests, mail
from .models import Subscription


def digest_preview(request, subscription_id):
    """Staff see a subscription's digest for any week, as the email would show it."""
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied("Only staff can preview digests.")
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    raw_period_end = request.GET.get("period_end", "")
    try:
        period_end = date.fromisoformat(raw_period_end) if raw_period_end else timezone.localdate()
    except ValueError:
        return HttpResponseBadRequest(
            f"period_end must be a date written YYYY-MM-DD, such as 2024-10-14, "
            f"not {raw_period_end!r}.",
            content_type="text/plain; charset=utf-8",
        )
    subject, text, html = mail.render_email(
        "digest", digests.digest_context(subscription, period_end)
    )
    if request.GET.get("format") == "text":
        return HttpResponse(f"{subject}\n\n{text}", content_type="text/plain; charset=utf-8")
    return HttpResponse(html)


# Mail clients unsubscribe with a bare POST (RFC 8058 one-click) that cannot carry a
# CSRF token; the signed token in the URL is what authorises it.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET asks for confirmation (link scanners must not unsubscribe anyone); POST
    unsubscribes. No login: most subscribers have none."""
    try:
        subscription = Subscription.from_unsubscribe_token(token)
    except (BadSignature, Subscription.DoesNotExist):
        return render(request, "tracker/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        subscription.active = False
        subscription.save(update_fields=["active"])
    return render(request, "tracker/unsubscribe.html", {"subscription": subscription})
