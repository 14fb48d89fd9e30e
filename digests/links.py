"""The case links of a digest: each opens one approved case, read-only, for a
subscriber who has no login.

A link carries its subscription and its case, signed with ``SECRET_KEY`` and stamped
with the time it was made (``TimestampSigner`` under its own salt): nobody can change
either number without breaking the signature, so a link opens its own case and
nothing else. It grants no session and no other page. It opens the case only while the
subscription is active, the case approved and the link younger than
``DIGEST_LINK_DAYS``; after that it says the case is no longer available. Each time it
opens the case, a ``CaseLinkView`` row says so.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from mailer.mail import absolute_url
from tracker.models import Case, State

from .models import CaseLinkView, Subscription

SALT = "digests.case-link"
# Where the token stands in a link's address, resolved once (``case_links``).
TOKEN_SLOT = "TOKEN"


class LinkInvalid(Exception):
    """Not a link the tracker made: tampered with, or cut short when copied."""


class LinkGone(Exception):
    """A link the tracker made that no longer opens its case; the message says why."""


def case_link_signer():
    """What signs case links; one signs all the links of a digest (``signing.dumps``
    would make a signer for each)."""
    return signing.TimestampSigner(salt=SALT)


def case_link_token(subscription_id, case_id, signer=None):
    return (signer or case_link_signer()).sign_object([subscription_id, case_id])


def case_links(subscription_id):
    """The link to each case (``case_links(id)(case_id)``) for this subscription.

    The address around the token is resolved once: ``reverse()`` took twice as long as
    signing, and a digest of a hundred cases made a hundred links for each subscriber.
    A token is URL-safe base64 and colons, which ``reverse()`` writes as they are."""
    signer = case_link_signer()
    before, _, after = absolute_url(reverse("digests:case", args=[TOKEN_SLOT])).rpartition(
        TOKEN_SLOT
    )
    return lambda case_id: before + case_link_token(subscription_id, case_id, signer) + after


def open_case_link(token):
    """The approved case a link opens, its view put on record. Raises LinkInvalid or
    LinkGone."""
    try:
        subscription_id, case_id = signing.loads(
            token, salt=SALT, max_age=timedelta(days=settings.DIGEST_LINK_DAYS)
        )
    except signing.SignatureExpired:
        raise LinkGone(
            f"Case links in a digest work for {settings.DIGEST_LINK_DAYS} days, and this "
            "one is older."
        ) from None
    except (signing.BadSignature, TypeError, ValueError):
        raise LinkInvalid from None
    subscription = Subscription.objects.filter(pk=subscription_id, active=True).first()
    if subscription is None:
        raise LinkGone("The subscription this link was sent to has ended.")
    case = Case.objects.filter(pk=case_id, state=State.APPROVED).first()
    if case is None:
        raise LinkGone("The case is no longer among the approved findings.")
    CaseLinkView.objects.create(subscription=subscription, case=case)
    return case
