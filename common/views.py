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
        page = loader.render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponseServerError(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponseServerError(loader.render_to_string("500.html"))
