"""What the stakeholders' dashboard shows of the digest: the latest approvals within
the reader's subscription, and the subscription itself.

The dashboard is tracker's page, and tracker may not import digests (the layers of
docs/architecture.md); the dashboard's template loads this library instead, so the
dependency runs from the page's template to digests and tracker's code knows nothing
of subscriptions.
"""

from django import template

from ..subscribers import incident_type_labels, latest_and_total, recently_approved, subscription_of

register = template.Library()


@register.inclusion_tag("digests/_dashboard.html", takes_context=True)
def digest_dashboard(context):
    """Two queries whatever the archive's size: the subscription, the latest approvals
    (and a third, their count, when there are more than the dashboard lists)."""
    user = context["request"].user
    subscription = subscription_of(user)
    cases, total = latest_and_total(recently_approved(user, subscription))
    return {
        "user": user,
        "subscription": subscription,
        "incident_types": incident_type_labels(subscription) if subscription else [],
        "recent": cases,
        "recent_total": total,
    }
