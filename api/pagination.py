"""Cursor pagination over the list's own order (keyset pagination, made by
``common.paging``, as the case list's pages are).

A page is the rows after (or before) the last row the client saw, in the list's sort
order with the primary key as the tie-breaker, the search's relevance included. Rows
inserted meanwhile neither repeat nor push rows off a page, and a page deep in the list
costs what the first does: no OFFSET, no COUNT.

DRF's CursorPagination keeps only the first sort key in its cursor and an offset for
ties, which a sort on state or incident date (thousands of equal values) turns into
the deep OFFSET this avoids; so the cursor here holds every key of the row.
The cursor is signed: a client hands back what it was given, never a value of its own.
"""

import re

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from common import paging

from .problems import InvalidQuery

SALT = "api.cursor"


class KeysetPagination(BasePagination):
    page_size = 50
    max_page_size = 100
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    # Used when the list's order is not one of named fields (an expression).
    default_ordering = ("-pk",)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.size = self.page_size_of(request)
        ordering = self.ordering_of(queryset)
        backwards, seen = self.position(request, ordering)
        rows, more = paging.keyset_page(queryset, ordering, self.size, seen, backwards)
        first = rows and paging.values_of(rows[0], ordering)
        last = rows and paging.values_of(rows[-1], ordering)
        # Forwards: a next page if there were more rows, a previous one if we came
        # from somewhere; backwards the other way round.
        has_next, has_previous = (seen is not None, more) if backwards else (more, seen is not None)
        self.next = self.link(ordering, False, last) if has_next and rows else None
        self.previous = self.link(ordering, True, first) if has_previous and rows else None
        return rows

    def page_size_of(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,3}", value) or not 1 <= int(value) <= self.max_page_size:
            raise InvalidQuery(
                {
                    self.page_size_query_param: [
                        f"A page holds from 1 to {self.max_page_size} items, not {value!r}."
                    ]
                }
            )
        return int(value)

    def ordering_of(self, queryset):
        """The list's order as field names, ending with the primary key."""
        return paging.ordering_of(queryset, self.default_ordering)

    def position(self, request, ordering):
        """(backwards?, the values of the row seen last) from the cursor, or (False, None)."""
        cursor = request.query_params.get(self.cursor_query_param)
        if cursor is None:
            return False, None
        try:
            backwards, seen, _ = paging.read_cursor(SALT, cursor, ordering)
        except paging.UnreadableCursor:
            raise self.invalid("is not a cursor this API gave.") from None
        except paging.CursorOfAnotherOrder:
            reason = "belongs to a list in another order; start again without it."
            raise self.invalid(reason) from None
        return backwards, seen

    def invalid(self, reason):
        return InvalidQuery({self.cursor_query_param: [f"This cursor {reason}"]})

    def link(self, ordering, backwards, seen):
        query = self.request.query_params.copy()
        query[self.cursor_query_param] = cursor(ordering, seen, backwards)
        return f"{self.request.build_absolute_uri(self.request.path)}?{query.urlencode()}"

    def get_paginated_response(self, data):
        return Response({"next": self.next, "previous": self.previous, "results": data})

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page, or null at the end."},
                "previous": {**link, "description": "The page before, or null at the start."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "Where the page starts: the cursor in the previous page's "
                "next or previous link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": f"Items a page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


def cursor(ordering, seen, backwards=False):
    return paging.make_cursor(SALT, ordering, seen, backwards)


def cursor_after(row, ordering):
    """The cursor of the page after ``row`` (the bench starts deep in a list with it)."""
    return cursor(ordering, paging.values_of(row, ordering))
