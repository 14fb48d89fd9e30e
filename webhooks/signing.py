"""The signature every delivery carries, so its receiver can tell it came from us and
was not replayed: ``Tracker-Signature: t=<unix time>,v1=<hex>``, where the hex is the
HMAC-SHA256, keyed with the endpoint's secret, of ``<unix time>.<body>``. The time is
the attempt's, so a receiver can refuse an old copy (README: "Webhooks" verifies it).
"""

import hashlib
import hmac

SCHEME = "v1"


def signature(secret, timestamp, body):
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` (``body`` in bytes)."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secret, timestamp, body):
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def verify(secret, value, body, now, tolerance=300):
    """Whether the header ``value`` signs ``body`` with ``secret`` within ``tolerance``
    seconds of ``now``: what a receiver checks (the fault harness's receiver does)."""
    try:
        fields = dict(part.split("=", 1) for part in value.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = signature(secret, timestamp, body)
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(
        expected, fields.get(SCHEME, "")
    )
