"""The weekly digest for stakeholders: what was approved in the week, never a draft.

``subscriptions_due`` chooses who gets one (``digests.tasks.enqueue_digests`` writes
their rows and enqueues a job per batch of them); ``deliver_digests`` is that job and
``deliver_digest`` the job for one (a retry, the sweep's): each sends exactly once per
subscription and period thanks to the ``DigestDelivery`` row.

A digest is rendered once per filter set and period (``composed_digest``): every
subscriber with those filters gets the same subject and bodies, with their own address,
unsubscribe link and signed case links put in its slots (``personal_message``).
"""

import copy
import hashlib
import itertools
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import Truncator
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from common import versioned_cache
from mailer import mail
from mailer.delivery import DONE, DeliveryDeferred, claim_attempts, release_claims
from mailer.models import DeliveryStatus
from tracker.models import Case, State, Transition, Visibility, cases_cache

from . import links
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
# Digests of a job whose attempts are claimed in one transaction, then sent one after
# the other: few enough that a worker lost mid-way leaves few claims to wait out.
CLAIMED_TOGETHER = 20
# A listed case's summary is cut after this many words, or characters.
SUMMARY_WORDS = 40
SUMMARY_CHARACTERS = 280


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


def deliver_digests(subscription_ids, period_end):
    """Send the digests of these subscriptions for the period, those not sent before,
    over one connection to the mail server. Returns the ids of the subscriptions whose
    digest was deferred (``DeliveryDeferred``: the server's answer, or another worker's
    attempt under way): each is for a retry of its own.

    Each digest keeps the exactly-once bookkeeping of its own row
    (``mailer.delivery``); what the batch shares is the reading of the rows, the
    composed digest of each filter set, and the SMTP session.
    """
    open_deliveries(subscription_ids, period_end)
    deliveries = (
        DigestDelivery.objects.filter(
            subscription_id__in=subscription_ids,
            period_end=period_end,
            subscription__active=True,
        )
        .exclude(status__in=DONE)
        .select_related("subscription")
        .order_by("pk")
    )
    composed = {}
    deferred = []
    connection = mail.connection()
    try:
        for chunk in itertools.batched(deliveries, CLAIMED_TOGETHER):
            messages = {}
            for delivery in chunk:
                subscription = delivery.subscription
                key = filters_of(subscription)
                if key not in composed:
                    composed[key] = composed_digest(subscription, period_end)
                messages[delivery.pk] = personal_message(composed[key], subscription)
            deferred += send_claimed_together(messages, connection)
    finally:
        if connection is not None:
            mail.close_quietly(connection)
    return deferred


def send_claimed_together(messages, connection):
    """Claim the attempts of these digests ({row id: message}) in one transaction, then
    send each and write its outcome. Returns the ids of the subscriptions deferred."""
    claims = claim_attempts(DigestDelivery.objects, list(messages))
    deferred, unsent = [], [c for c in claims.values() if is_claimed(c)]
    try:
        for pk, message in messages.items():
            claim = claims.get(pk)
            if isinstance(claim, DeliveryDeferred):
                deferred.append(claim_subscription(pk))
            elif is_claimed(claim):
                unsent.remove(claim)
                try:
                    mail.send_claimed(DigestDelivery.objects, claim, message, connection)
                except DeliveryDeferred as error:
                    logger.info("%s deferred: %s", claim, error)
                    deferred.append(claim.subscription_id)
    finally:
        # A failure (the database's, say) left these claimed but never attempted.
        release_claims(DigestDelivery.objects, unsent)
    return deferred


def is_claimed(claim):
    return isinstance(claim, DigestDelivery) and claim.status == DeliveryStatus.SENDING


def claim_subscription(pk):
    return DigestDelivery.objects.values_list("subscription_id", flat=True).get(pk=pk)


def digest_message(subscription, period_end):
    return personal_message(composed_digest(subscription, period_end), subscription)


def personal_message(digest, subscription):
    """The composed digest with the subscriber's own links and address: each case link
    signed for this subscription, the unsubscribe link theirs."""
    unsubscribe_url = subscription.get_unsubscribe_url()
    link = links.case_links(subscription.pk)
    values = {
        EMAIL_SLOT: subscription.email,
        UNSUBSCRIBE_SLOT: unsubscribe_url,
        **{case_slot(case_id): link(case_id) for case_id in digest.case_ids},
    }
    return mail.rendered_message(
        digest.subject,
        digest.text.fill(values),
        digest.html.fill(values),
        to=[subscription.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            # RFC 8058: mail clients may unsubscribe with one POST, no page visit.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def period_bounds(period_end):
    """The week before ``period_end`` as aware datetimes: [start, end)."""
    end = timezone.make_aware(datetime.combine(period_end, time.min))
    return end - PERIOD, end


def latest_approval(field):
    """The case's latest approval's ``field``, as a subquery of a Case queryset."""
    approvals = Transition.objects.filter(case=OuterRef("pk"), to_state=State.APPROVED)
    return Subquery(approvals.order_by("-at", "-pk").values(field)[:1])


def newly_approved(subscription, period_end):
    """Cases still approved whose latest approval fell in the week, oldest approval
    first: a case approved again after the week is next week's news."""
    start, end = period_bounds(period_end)
    # Found through the week's approvals (indexed by time), not by scanning every
    # approved case: a digest's cost follows the week, not the archive.
    approvals = Transition.objects.filter(to_state=State.APPROVED, at__gte=start, at__lt=end)
    cases = Case.objects.filter(state=State.APPROVED, pk__in=approvals.values("case_id"))
    return (
        subscription.filter_cases(cases)
        .annotate(
            approved_at=latest_approval("at"),
            approval_justification=latest_approval("justification"),
        )
        .filter(approved_at__lt=end)
        .order_by("approved_at", "reference")
    )


def approved_counts(subscription, period_end):
    """The approved cases within the subscriber's filters: how many there are now, and
    how many of them were last approved before, during and after the week."""
    start, end = period_bounds(period_end)

    def approved_since(moment):
        # The approvals since ``moment`` (a week's, by the index on time), read once
        # into a hash that each approved case is looked up in, rather than a probe of
        # the transitions per approved case: at a million cases the probes took a
        # second per filter set, as many approved cases as the archive holds.
        return Q(
            pk__in=Transition.objects.filter(to_state=State.APPROVED, at__gte=moment).values(
                "case_id"
            )
        )

    approved = subscription.filter_cases(Case.objects.filter(state=State.APPROVED))
    counts = approved.order_by().aggregate(
        total=Count("pk"),
        since_start=Count("pk", filter=approved_since(start)),
        after=Count("pk", filter=approved_since(end)),
    )
    return {
        "total": counts["total"],
        "before": counts["total"] - counts["since_start"],
        "this_week": counts["since_start"] - counts["after"],
        "after": counts["after"],
    }


def shared_by_filters(subscription, name, day, compute):
    """What every digest with the same filters shows for ``day``, worked out once.

    One weekly run sends hundreds of digests a few minutes apart, most with the same
    few filter sets: the listing and the counts are computed once per filter set and
    kept for ten minutes.
    """
    types, countries = filters_of(subscription)
    return shared(f"digest:{name}:{fingerprint(sorted(types), sorted(countries))}:{day}", compute)


def fingerprint(*filters):
    """A cache key's part for a filter set: short and of safe characters, however many
    countries it names."""
    return hashlib.sha256(repr(filters).encode()).hexdigest()[:32]


def filters_of(subscription):
    """What a digest's content depends on besides its period: the subscriber's filters,
    in the order the digest names them."""
    return (
        tuple(subscription.incident_types),
        tuple(country.code for country in subscription.countries),
    )


def shared(key, compute):
    """``compute()``, kept in the cache for SHARED_TTL under ``key``, while the approved
    cases stay as they were: a case approved, or reopened (no longer a finding), moves
    their version on (``tracker.models.counts_changed``), and the digests composed after
    work the listing out afresh. The cache only saves work: when it is down, each
    caller computes its own (slower, but sent)."""
    try:
        version = versioned_cache.current_version(cases_cache(Visibility.APPROVED))
        value = cache.get(key, version=version)
    except CACHE_FAILURES as error:
        logger.warning("Digest cache unavailable, computing %s: %s", key, error)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, SHARED_TTL, version=version)
        except CACHE_FAILURES as error:
            logger.warning("Digest cache unavailable, not keeping %s: %s", key, error)
    return value


# What is the subscriber's own in a composed digest, each a slot filled per message.
EMAIL_SLOT = "email"
UNSUBSCRIBE_SLOT = "unsubscribe"


def case_slot(case_id):
    return f"case{case_id}"


@dataclass(frozen=True)
class Slotted:
    """A rendered body cut at its slots: ``parts`` alternate literal text and a slot
    (its name, and how its value is written there), starting and ending with text."""

    parts: tuple

    def fill(self, values):
        pieces = [self.parts[0]]
        for index in range(1, len(self.parts), 2):
            name, escaping = self.parts[index]
            pieces.append(ESCAPES[escaping](values[name]))
            pieces.append(self.parts[index + 1])
        return "".join(pieces)


# How a value is written where a slot stands: as the text part has it (no escaping),
# and as the CSS inliner writes the HTML it re-serialises, in text and in an
# attribute (a value made of other characters is written as it is by both).
ESCAPES = {
    "plain": str,
    "html_text": lambda value: (
        value.replace("&", "&amp;")
        .replace("\xa0", "&nbsp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    ),
    "html_attribute": lambda value: (
        value.replace("&", "&amp;").replace("\xa0", "&nbsp;").replace('"', "&quot;")
    ),
}


def cut_at_slots(rendered, marker, html=False):
    """``rendered`` as a ``Slotted``, at each ``<marker><name>Z``."""
    parts, last = [], 0
    for match in re.finditer(rf"{marker}({EMAIL_SLOT}|{UNSUBSCRIBE_SLOT}|case\d+)Z", rendered):
        start = match.start()
        if not html:
            escaping = "plain"
        elif rendered.rfind("<", 0, start) > rendered.rfind(">", 0, start):
            escaping = "html_attribute"
        else:
            escaping = "html_text"
        parts += [rendered[last:start], (match.group(1), escaping)]
        last = match.end()
    parts.append(rendered[last:])
    return Slotted(tuple(parts))


@dataclass(frozen=True)
class ComposedDigest:
    """A digest as every subscriber with one filter set gets it for one period, but
    for their address and links, which are slots."""

    subject: str
    text: Slotted
    html: Slotted
    case_ids: tuple


def composed_digest(subscription, period_end):
    """The digest of the subscription's filter set for the period, rendered once and
    kept in the cache like the listing: a run renders (and inlines the CSS of) one
    digest per filter set, not one per subscriber."""
    return shared(
        f"digest:composed:{fingerprint(*filters_of(subscription))}:{period_end}",
        lambda: compose(subscription, period_end),
    )


def compose(subscription, period_end):
    """Render the digest with a slot marker wherever the subscriber's own address or
    links stand. The marker is new each time, so no text a monitor typed (a title, a
    summary) can pass for a slot."""
    marker = f"digestslot{secrets.token_hex(8)}"

    def slot(name):
        return f"{marker}{name}Z"

    context = listing_context(
        subscription,
        period_end,
        link=lambda case_id: slot(case_slot(case_id)),
        unsubscribe_url=slot(UNSUBSCRIBE_SLOT),
    )
    # The template reads the filters' names from the subscription, and its address,
    # which is a slot: a copy carries it (nothing else of it is rendered).
    anyone = copy.copy(subscription)
    anyone.email = slot(EMAIL_SLOT)
    context["subscription"] = anyone
    subject, text, html = mail.render_email("digest", context)
    if marker in subject:
        raise ValueError("a digest's subject is the same for every subscriber")
    return ComposedDigest(
        subject=subject,
        text=cut_at_slots(text, marker),
        html=cut_at_slots(html, marker, html=True),
        case_ids=tuple(row["case_id"] for row in context["cases"]),
    )


def digest_context(subscription, period_end, preview=False):
    """What the subscriber's digest shows. A ``preview`` for staff has an inert
    unsubscribe link, and its case links open the case's own page on the site: the
    subscriber's links would put the preview's clicks on the subscriber's record."""
    if preview:
        return listing_context(subscription, period_end, staff_case_url, PREVIEW_UNSUBSCRIBE_URL)
    return listing_context(
        subscription,
        period_end,
        links.case_links(subscription.pk),
        subscription.get_unsubscribe_url(),
    )


def listing_context(subscription, period_end, link, unsubscribe_url):
    """What the digest shows, with ``link(case_id)`` for each case's link."""
    start, end = period_bounds(period_end)
    # Named apart from the listing of earlier releases, whose rows had no case ids.
    rows, counts = shared_by_filters(
        subscription, "listing", period_end, lambda: approved_listing(subscription, period_end)
    )
    return {
        "subscription": subscription,
        "period_start": start.date(),
        "period_last_day": (end - timedelta(days=1)).date(),
        "period_end": period_end,
        "cases": [{**row, "url": link(row["case_id"])} for row in rows],
        "counts": counts,
        "counts_note": counts_explained(counts, start.date(), period_end),
        "not_listed": counts["this_week"] - len(rows),
        "link_days": settings.DIGEST_LINK_DAYS,
        "approved_cases_url": mail.absolute_url(reverse("tracker:case_list") + "?state=approved"),
        "unsubscribe_url": unsubscribe_url,
    }


def counts_explained(counts, period_start, period_end):
    """Why "in total" is more than "this week", in a sentence ("" when it is not): the
    other approved cases were approved before the week, or after it ended (a digest
    sent on the morning after its week does not list the approvals of that morning)."""

    def approved(number, when):
        return f"{number} {'was' if number == 1 else 'were'} approved {when}"

    before, after = counts["before"], counts["after"]
    parts = []
    if before:
        parts.append(approved(before, f"before {dateformat(period_start)}"))
    if after:
        parts.append(
            approved(after, f"on or after {dateformat(period_end)}, when this week had ended")
            + f" (a later digest lists {'it' if after == 1 else 'them'})"
        )
    return f"Of the {counts['total']} approved in total, {'; '.join(parts)}." if parts else ""


def dateformat(day):
    return formats.date_format(day, "j F Y")


def staff_case_url(case_id):
    return mail.absolute_url(reverse("tracker:case", args=[case_id]))


def approved_listing(subscription, period_end):
    """The rows of the cases listed (at most MAX_LISTED_CASES) and the counts."""
    rows = digest_rows(newly_approved(subscription, period_end)[:MAX_LISTED_CASES])
    return rows, approved_counts(subscription, period_end)


def short_summary(text):
    """The start of a summary, cut at a word: a digest is read at a glance, and the
    case's page has the whole of it."""
    words = Truncator(" ".join(text.split())).words(SUMMARY_WORDS, truncate=" …")
    # A summary of few, very long words (a pasted link) is cut by its length too.
    return Truncator(words).chars(SUMMARY_CHARACTERS, truncate="…")


def digest_rows(cases):
    """What each listed case shows, worked out once for the text and the HTML and for
    every subscriber with the same filters (each gets links of their own)."""
    return [
        {
            "case_id": case.pk,
            "reference": case.reference,
            "title": case.title,
            "summary": short_summary(case.summary),
            "incident_type": str(case.get_incident_type_display()),
            "incident_period": case.incident_period,
            "place": f"{case.place_name} ({case.country.name})",
            "supporting_sources": case.supporting_sources,
            "refuting_sources": case.refuting_sources,
            # The workflow asks for a justification only below the minimum.
            "below_minimum": bool(case.approval_justification),
        }
        for case in cases
    ]
