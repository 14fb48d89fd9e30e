from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest

from tracker.models import works_on_cases
from tracker.views import filtered_cases

from .columns import exportable
from .exports import RESPONSES


@login_required
def case_export(request, format):
    """The case list, filtered, searched and sorted as the list page is, as a file:
    the cases the user may see (a stakeholder's are the approved ones)."""
    if format not in RESPONSES:
        raise Http404("No such export format.")
    case_filter = filtered_cases(request)
    # The list page shows a bad filter value next to its field; a file cannot, and
    # would silently hold more cases than were asked for.
    if not case_filter.is_valid():
        return HttpResponseBadRequest(
            case_filter.errors.as_text(), content_type="text/plain; charset=utf-8"
        )
    return RESPONSES[format](exportable(case_filter.qs), works_on_cases(request.user))
