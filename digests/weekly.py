"""The weekly digest for stakeholders: what was approved in the week, never a draft.

``subscriptions_due`` chooses who gets one (``digests.tasks.enqueue_digests`` enqueues
one job per subscription); ``deliver_digest`` is that job: it renders and sends,
exactly once per subscription and period thanks to the ``DigestDelivery`` row.
"""

import logging
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from evidence.corroboration import with_corroboration
from mailer import mail
from mailer.models import DeliveryStatus
from tracker.models import WAITING_STATES, Case, State, Transition, overdue

from .models import DigestDelivery, Subscription

logger = logging.getLogger(__name__)

# What the cache raises when its server is down or unreachable (the Redis backend's
# errors, and the socket's for any other backend).
CACHE_FAILURES = (RedisConnectionError, RedisTimeoutError, OSError)

PERIOD = timedelta(days=7)
# The period ends a digest can cover: a day's margin keeps the week before, in any
# time zone, within the datetimes Python can hold.
FIRST_PERIOD_END = date.min + PERIOD + timedelta(days=1)
LAST_PERIOD_END = date.max - timedelta(days=1)
# What a preview shows for the subscriber's own unsubscribe link, which stays secret:
# anyone holding it can unsubscribe them.
PREVIEW_UNSUBSCRIBE_URL = "#unsubscribe-link-not-shown-in-previews"
# A digest lists at most this many cases and links to the rest, which keeps its
# memory and its size bounded however busy the week was.
MAX_LISTED_CASES = 100
SHARED_TTL = 10 * 60


def subscriptions_due(period_end):
    """Ids of the active subscriptions not yet served for the week before ``period_end``."""
    served = DigestDelivery.objects.filter(
        subscription=OuterRef("pk"), period_end=period_end
    ).filter(status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED])
    return (
        Subscription.objects.filter(active=True)
        .exclude(Exists(served))
        .values_list("pk", flat=True)
    )


def open_deliveries(subscription_ids, period_end):
    """Put the digests of these subscriptions for the week on record, pending, before
    any job is queued: a job the broker then loses leaves its row behind for the mail
    sweep (mailer.sweep) to send, instead of leaving no trace."""
    DigestDelivery.objects.bulk_create(
        [DigestDelivery(subscription_id=pk, period_end=period_end) for pk in subscription_ids],
        ignore_conflicts=True,
    )


def deliver_digest(subscription, period_end):
    """Send the subscription's digest for the period unless it went out before."""
    if not subscription.active:
        return None
    return mail.send_once(
        DigestDelivery.objects,
        {"subscription": subscription, "period_end": period_end},
        lambda delivery: digest_message(subscription, period_end),
    )


def digest_message(subscription, period_end):
    context = digest_context(subscription, period_end)
    return mail.email_message(
        "digest",
        context,
        to=[subscription.email],
        headers={
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
            # RFC 8058: mail clients may unsubscribe with one POST, no page visit.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def period_bounds(period_end):
    """The week before ``period_end`` as aware datetimes: [start, end)."""
    end = timezone.make_aware(datetime.combine(period_end, time.min))
    return end - PERIOD, end


def newly_approved(subscription, period_end):
    """Cases approved during the week that are still approved, oldest approval first."""
    start, end = period_bounds(period_end)
    # Found through the week's approvals (indexed by time), not by scanning every
    # approved case: a digest's cost follows the week, not the archive.
    approvals = Transition.objects.filter(to_state=State.APPROVED, at__gte=start, at__lt=end)
    latest_approval = approvals.filter(case=OuterRef("pk")).order_by("-at").values("at")[:1]
    cases = Case.objects.filter(state=State.APPROVED, pk__in=approvals.values("case_id"))
    return (
        with_corroboration(subscription.filter_cases(cases))
        .annotate(approved_at=Subquery(latest_approval))
        .order_by("approved_at", "reference")
    )


def shared_by_filters(subscription, name, day, compute):
    """What every digest with the same filters shows for ``day``, worked out once.

    One weekly run sends hundreds of digests a few minutes apart, most with the same
    few filter sets: the listing and the counts are computed once per filter set and
    kept for ten minutes, so each digest costs little more than its rendering. The
    cache only saves work: when it is down, each digest computes its own (slower, but
    sent).
    """
    key = (
        f"digest:{name}:{sorted(subscription.incident_types)}:"
        f"{sorted(country.code for country in subscription.countries)}:{day:%Y-%m-%d}"
    )
    try:
        shared = cache.get(key)
    except CACHE_FAILURES as error:
        logger.warning("Digest cache unavailable, computing %s: %s", key, error)
        return compute()
    if shared is None:
        shared = compute()
        try:
            cache.set(key, shared, SHARED_TTL)
        except CACHE_FAILURES as error:
            logger.warning("Digest cache unavailable, not keeping %s: %s", key, error)
    return shared


def state_counts(subscription, now):
    """Cases by review state, drafts left out: they are their authors' private work."""
    return shared_by_filters(
        subscription, "state-counts", now, lambda: _state_counts(subscription, now)
    )


def _state_counts(subscription, now):
    rows = (
        subscription.filter_cases(Case.objects.exclude(state=State.DRAFT))
        .order_by()
        .values("state")
        .annotate(cases=Count("pk"), overdue=Count("pk", filter=overdue(now)))
    )
    return {row["state"]: row for row in rows}


def digest_context(subscription, period_end, preview=False):
    """What the digest shows; a ``preview`` for staff has an inert unsubscribe link."""
    start, end = period_bounds(period_end)
    cases, total = shared_by_filters(
        subscription, "approved", period_end, lambda: approved_listing(subscription, period_end)
    )
    counts = state_counts(subscription, timezone.now())
    return {
        "subscription": subscription,
        "period_start": start.date(),
        "period_last_day": (end - timedelta(days=1)).date(),
        "cases": cases,
        "approved_total": total,
        "not_listed": total - len(cases),
        "state_counts": [
            (state.label, counts.get(state, {}).get("cases", 0))
            for state in State
            if state != State.DRAFT
        ],
        "backlog": sum(counts.get(state, {}).get("cases", 0) for state in WAITING_STATES),
        "overdue": sum(counts.get(state, {}).get("overdue", 0) for state in WAITING_STATES),
        "sla_days": settings.REVIEW_SLA_DAYS,
        "approved_cases_url": mail.absolute_url(reverse("tracker:case_list") + "?state=approved"),
        "unsubscribe_url": (
            PREVIEW_UNSUBSCRIBE_URL if preview else subscription.get_unsubscribe_url()
        ),
    }


def approved_listing(subscription, period_end):
    """The rows of the cases listed, at most MAX_LISTED_CASES, and how many there are."""
    approved = newly_approved(subscription, period_end)
    rows = digest_rows(approved[:MAX_LISTED_CASES])
    return rows, len(rows) if len(rows) < MAX_LISTED_CASES else approved.count()


def digest_rows(cases):
    """What each listed case shows, worked out once for the text and the HTML."""
    return [
        {
            "reference": case.reference,
            "title": case.title,
            "url": mail.absolute_url(case.get_absolute_url()),
            "incident_type": str(case.get_incident_type_display()),
            "incident_period": case.incident_period,
            "place": f"{case.place_name} ({case.country.name})",
            "supporting_sources": case.supporting_sources,
            "refuting_sources": case.refuting_sources,
        }
        for case in cases
    ]
