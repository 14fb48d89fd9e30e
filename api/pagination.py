"""Cursor pagination over the list's own order (keyset pagination).

A page is the rows after (or before) the last row the client saw, in the list's sort
order with the primary key as the tie-breaker: ``WHERE (sort key, id) < (seen, seen id)
ORDER BY … LIMIT n``. Rows inserted meanwhile neither repeat nor push rows off a page,
and a page deep in the list costs what the first does: no OFFSET, no COUNT.

DRF's CursorPagination keeps only the first sort key in its cursor and an offset for
ties, which a sort on state or incident date (thousands of equal values) turns into
the deep OFFSET this avoids; so the cursor here holds every key of the row.
The cursor is signed: a client hands back what it was given, never a value of its own.
"""

import datetime
import decimal
import re

from django.core import signing
from django.db.models import Q
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

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
        queryset = queryset.order_by(*ordering)
        backwards, seen = self.position(request, ordering)
        if seen is not None:
            queryset = queryset.filter(after(ordering, seen, backwards))
        if backwards:
            queryset = queryset.reverse()
        rows = list(queryset[: self.size + 1])
        more = len(rows) > self.size
        rows = rows[: self.size]
        if backwards:
            rows.reverse()
        first = rows and values_of(rows[0], ordering)
        last = rows and values_of(rows[-1], ordering)
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
        ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
        if not all(isinstance(key, str) for key in ordering):
            ordering = list(self.default_ordering)
        names = [key.lstrip("-") for key in ordering]
        if "pk" not in names and "id" not in names:
            ordering.append("-pk" if ordering and ordering[0].startswith("-") else "pk")
        return ordering

    def position(self, request, ordering):
        """(backwards?, the values of the row seen last) from the cursor, or (False, None)."""
        cursor = request.query_params.get(self.cursor_query_param)
        if cursor is None:
            return False, None
        try:
            data = signing.loads(cursor, salt=SALT)
            backwards, keys, seen = data["b"], data["o"], data["v"]
        except (signing.BadSignature, TypeError, KeyError, ValueError):
            raise self.invalid("is not a cursor this API gave.") from None
        if keys != ordering:
            raise self.invalid("belongs to a list in another order; start again without it.")
        return bool(backwards), seen

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
    return signing.dumps({"b": backwards, "o": ordering, "v": seen}, salt=SALT, compress=True)


def cursor_after(row, ordering):
    """The cursor of the page after ``row`` (the bench starts deep in a list with it)."""
    return cursor(ordering, values_of(row, ordering))


def values_of(row, ordering):
    return [plain(getattr(row, key.lstrip("-"))) for key in ordering]


def plain(value):
    """A value as JSON holds it; the database compares the text with its column."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def after(ordering, seen, backwards=False):
    """Rows after ``seen`` in ``ordering`` (before it, ``backwards``):
    k1 > v1 OR (k1 = v1 AND k2 > v2) OR …, each > a < for a descending key; and, said
    outright, k1 >= v1, which lets the database start its index scan there."""
    condition, equal = None, Q()
    for key, value in zip(ordering, seen, strict=True):
        name = key.lstrip("-")
        descending = key.startswith("-") != backwards
        beyond = equal & Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
        condition = beyond if condition is None else condition | beyond
        equal &= Q(**{name: value})
    first = ordering[0]
    descending = first.startswith("-") != backwards
    return Q(**{f"{first.lstrip('-')}__{'lte' if descending else 'gte'}": seen[0]}) & condition
