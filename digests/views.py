"""The digest's two pages: a preview for staff and the subscriber's unsubscribe page."""

from django.contrib.auth.decorators import permission_required
from django.core.signing import BadSignature
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mailer.mail import render_email

from .forms import DigestPreviewForm
from .models import Subscription
from .weekly import digest_context


@permission_required("digests.view_subscription", raise_exception=True)
def preview(request, subscription_id):
    """A subscription's digest for any week, as the email would show it, without the
    subscriber's unsubscribe link."""
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    form = DigestPreviewForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            form.errors.as_text(), content_type="text/plain; charset=utf-8"
        )
    context = digest_context(subscription, form.cleaned_data["period_end"], preview=True)
    subject, text, html = render_email("digest", context)
    if form.cleaned_data["format"] == "text":
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
        return render(request, "digests/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        subscription.active = False
        subscription.save(update_fields=["active"])
    return render(request, "digests/unsubscribe.html", {"subscription": subscription})
