from django.core.exceptions import BadRequest


class AdminAddressGuard:
    """Refuses an admin page whose address holds a NUL character, saying why (400).

    The admin's lists filter by any field named in the address (``?state=…``) and hand
    the value to the database as it came, where the site's lists and the API check it
    in a form first; PostgreSQL refuses text holding a NUL, a server error. No field
    holds one, so nothing that could be meant is refused.
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
