"""Error pages that stay up when the database does not."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponseServerError
from django.template import loader

# Long enough for PostgreSQL to restart or fail over, short enough to be worth waiting.
RETRY_AFTER_SECONDS = 30


def server_error(request):
    """Django's handler500, telling an outage of the database from a fault of ours.

    Rendered without the request's context processors, which would query the database
    again (who is signed in), so the page shows even while it is down.
    """
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        context = {"retry_after": RETRY_AFTER_SECONDS}
        page = render_or_plain("503.html", "Try again shortly", context)
        response = HttpResponseServerError(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponseServerError(render_or_plain("500.html", "Something went wrong"))


def render_or_plain(template_name, title, context=None):
    """The page in the site's layout or, if even that fails (static files missing, a
    broken template), its title alone: an error page must not fail in turn."""
    try:
        return loader.render_to_string(template_name, context)
    except Exception:  # noqa: BLE001 - anything at all; the original error is logged
        return f"<!doctype html><title>{title}</title><h1>{title}</h1>"
