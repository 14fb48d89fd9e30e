"""The digest's pages: a preview for staff, and for subscribers, who mostly have no
login, the unsubscribe page and the approved case a digest's link opens."""

from django.contrib.auth.decorators import permission_required
from django.core.signing import BadSignature
from django.http import HttpResponse, HttpResponseBadRequest
from django.middleware.csp import get_nonce
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from evidence.corroboration import summarize
from evidence.models import EvidenceItem, Stance
from mailer.mail import render_email
from tracker.models import State

from .forms import DigestPreviewForm
from .links import LinkGone, LinkInvalid, open_case_link
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
    # The email's own HTML, its CSS left in its style block (mail clients get it
    # inlined into style attributes, which the site's CSP would refuse) and marked with
    # this response's nonce, which the CSP middleware then puts in the header.
    nonce = str(get_nonce(request))
    subject, text, html = render_email("digest", {**context, "csp_nonce": nonce}, inline_css=False)
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


# Not kept by browsers or proxies: the link stops working when the case is reopened or
# the subscription ends, and a copy kept would not.
@never_cache
@require_GET
def approved_case(request, token):
    """The approved case a digest's link opens, read-only, for whoever holds the link;
    see digests.links for what it grants."""
    try:
        case = open_case_link(token)
    except LinkInvalid:
        return render(request, "digests/case_unavailable.html", {"invalid": True}, status=404)
    except LinkGone as gone:
        return render(request, "digests/case_unavailable.html", {"reason": str(gone)}, status=410)
    approval = case.transitions.filter(to_state=State.APPROVED).order_by("-at", "-pk").first()
    items = EvidenceItem.objects.filter(case=case).select_related("source", "reporting_outlet")
    return render(
        request,
        "digests/case.html",
        {
            "case": case,
            "approval": approval,
            "corroboration": summarize(case),
            "evidence": [
                (label, [item for item in items if item.stance == stance])
                for stance, label in Stance.choices
            ],
        },
    )
