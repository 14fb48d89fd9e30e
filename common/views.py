"""The error pages: in the site's layout, with the reason the code gave where it gave one,
and up even when the database is not."""

import sys

from django.core.exceptions import BadRequest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponseBadRequest, HttpResponseServerError
from django.template import loader

# Long enough for PostgreSQL to restart or fail over, short enough to be worth waiting.
RETRY_AFTER_SECONDS = 30


def bad_request(request, exception):
    """Django's handler400, with the reason when it is one of ours (a BadRequest the
    code raised with a message for the user); other malformed requests get none."""
    reason = str(exception) if type(exception) is BadRequest else ""
    return HttpResponseBadRequest(
        render_or_plain("400.html", "The request could not be used", {"reason": reason})
    )


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
