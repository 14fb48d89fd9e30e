"""A signed-in user's own subscription: which one is theirs, and what it selects.

Subscriptions are keyed by address, and most subscribers have no login; a user's
subscription is the one sent to their account's email address (which only an
administrator changes). The stakeholders' dashboard and the page where users change
their own subscription (``subscription_views``) both find it here.
"""

from tracker.models import Case, IncidentType, State

from .models import Subscription

# The dashboard lists this many of the latest approvals and says how many there are.
RECENT_ROWS = 20


def subscription_of(user):
    """The subscription sent to the user's email address, or None (also for a user
    without an address). Addresses are compared without regard to case, as mail
    servers do in practice: Ana@Example.org reads the digest of ana@example.org."""
    if not user.email:
        return None
    return Subscription.objects.filter(email__iexact=user.email).order_by("-active", "pk").first()


def recently_approved(user, subscription=None):
    """The approved cases the user sees (within the subscription's filters, if any),
    most recently approved first. An approved case stays approved until it is
    reopened, so the time it reached its state is the time of its approval."""
    cases = Case.objects.visible_to(user).filter(state=State.APPROVED)
    if subscription is not None:
        cases = subscription.filter_cases(cases)
    return cases.order_by("-state_changed_at", "-pk")


def latest_and_total(cases, rows=RECENT_ROWS):
    """The first ``rows`` cases and how many there are, counting only when needed."""
    first = list(cases[:rows])
    total = len(first) if len(first) < rows else cases.count()
    return first, total


def incident_type_labels(subscription):
    return [IncidentType(value).label for value in subscription.incident_types]
