"""Middleware of the project's own (the rest is Django's and its libraries')."""

from django.core.exceptions import BadRequest, ValidationError
from django.db import DataError


class AdminAddressGuard:
    """Refuses, saying why (400), an admin page whose address it cannot use.

    The admin's lists filter by any field named in the address (``?state=…``) and hand
    the value to the database as it came, where the site's lists and the API check it
    in a form first. A value of the wrong kind for its field (``?ip_address=0``), or
    beyond what SQLite can be asked (``?permissions=2**63``), fails only when the list
    is read; PostgreSQL cannot read a NUL in text at all, and the autocomplete's search
    passes one on too. Each was a server error.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.resolver_match.app_name != "admin":
            return None
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                raise BadRequest(
                    "The address holds a NUL character (%00), which no field can hold; "
                    "nothing was looked up."
                )
        return None

    def process_exception(self, request, exception):
        match = request.resolver_match
        if (
            isinstance(exception, ValueError | OverflowError | ValidationError | DataError)
            and request.method == "GET"
            and match is not None
            and match.app_name == "admin"
            # The admin's catch-all page (an unknown address) has no name.
            and (match.url_name or "").endswith("_changelist")
        ):
            raise BadRequest(
                "A filter in the address holds a value its field cannot hold (a word "
                "where a number or an address belongs); remove it and try again."
            ) from exception
        return None
