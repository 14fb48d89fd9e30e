"""Paging long lists at a cost that does not grow with the archive: counts that stop at
``EXACT_COUNT_LIMIT`` and keyset cursors.

**Capped counts.** ``SELECT count(*) FROM (SELECT id … LIMIT limit + 1)`` reads at most
limit + 1 matches: up to the limit the count is exact, beyond it the list says "more
than 10,000". A plain count of a search for words most cases hold read all 80,000
matches, which cost more than the page itself.

A count can be kept in the cache (``kept_in``: a ``common.versioned_cache`` name) under
the count's own SQL, until a change to what the list is made of moves that name's
version on. Counting up to the limit still reads up to 10,001 rows, and a common word's
GIN index hands over all its matches first: 53 ms for "Kharkiv" at 1,000,000 cases
against 9 ms at 100,000. The SQL holds every condition, the user's visibility among
them, so two lists share a count only when they are the same list.

**Keyset pagination.** A page is the rows after (or before) the last row the reader
saw, in the list's sort order with the primary key as the tie-breaker: ``WHERE (sort
key, id) < (seen, seen id) ORDER BY … LIMIT n``. Rows inserted meanwhile neither
repeat nor push rows off a page, and a page deep in the list costs what the first
does: no OFFSET, which makes the database build (and, for the case list, work out the
corroboration of) every row it skips. The cursor holds every key of the row, not only
the first (DRF's CursorPagination keeps the first and an offset for ties, which a
sort on state or incident date turns back into a deep OFFSET), and it is signed: a
reader hands back what they were given, never a value of their own. The API's cursors
(``api.pagination``) and the case list's (``tracker.views``) are made here.
"""

import datetime
import decimal
import functools
import hashlib
import math

from django.conf import settings
from django.core import signing
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet

from . import versioned_cache

# A backstop for a write no signal announces (raw SQL): no count is kept longer.
COUNT_KEPT_SECONDS = 10 * 60


def count_limit():
    return settings.EXACT_COUNT_LIMIT


def capped_count(queryset, limit=None, kept_in=None):
    """(the number of rows, whether it is exact): exact up to ``limit`` (by default
    ``EXACT_COUNT_LIMIT``), else limit + 1 and False. Only the primary keys are read,
    in no order, so the database stops at the limit + 1st match and works out no
    annotation (a filter on one still applies). With ``kept_in``, the count is kept
    in the cache under its SQL for that version of ``kept_in``."""
    limit = count_limit() if limit is None else limit
    counted = queryset.order_by().values("pk")[: limit + 1]
    if kept_in is None or counted.query.is_empty():
        count = counted.count()
    else:
        try:
            sql, params = counted.query.get_compiler(counted.db).as_sql()
        except EmptyResultSet:
            # A condition no row can meet, which Django knows without asking the
            # database: "at least 10^30 sources" is beyond the column's range.
            return 0, True
        key = "count:" + hashlib.sha256(repr((counted.db, sql, params)).encode()).hexdigest()
        count = versioned_cache.get_or_set(kept_in, key, counted.count, COUNT_KEPT_SECONDS)
    return (count, True) if count <= limit else (limit + 1, False)


class CappedPaginator(Paginator):
    """Django's paginator over a count that stops at ``EXACT_COUNT_LIMIT`` (its
    ``count`` is then the limit + 1, and ``count_is_exact`` False), and pages no deeper
    than ``max_pages``: an OFFSET page costs what it skips. With ``kept_in``, the count
    is kept in the cache (``capped_count``)."""

    def __init__(
        self, object_list, per_page, *args, max_pages=None, keys_first=False, kept_in=None, **kwargs
    ):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.max_pages = max_pages
        self.keys_first = keys_first
        self.kept_in = kept_in

    def page(self, number):
        """The page; with ``keys_first``, read as the page's primary keys (the OFFSET
        walks an index, working out nothing for the rows it skips) and then its rows
        with whatever they are annotated with: a query more, but page 20 of a list
        with correlated counts no longer works them out for the 950 rows before it."""
        page = super().page(number)
        if self.keys_first and isinstance(self.object_list, QuerySet):
            keys = list(page.object_list.values_list("pk", flat=True))
            page.object_list = self.object_list.filter(pk__in=keys)
        return page

    @functools.cached_property
    def _capped(self):
        if isinstance(self.object_list, list):
            return len(self.object_list), True
        return capped_count(self.object_list, kept_in=self.kept_in)

    @functools.cached_property
    def count(self):
        return self._capped[0]

    @property
    def count_is_exact(self):
        return self._capped[1]

    @property
    def limit(self):
        return count_limit()

    @property
    def count_display(self):
        """The count as a reader sees it: "9,999", or "more than 10,000"."""
        if self.count_is_exact:
            return f"{self.count:,}"
        return f"more than {self.limit:,}"

    @functools.cached_property
    def num_pages(self):
        """The pages offered: those of the count, but when it is not exact only the
        full pages within the limit (the limit + 1st row alone would make a page),
        and no more than ``max_pages``."""
        if not self.count_is_exact:
            pages = max(1, self.limit // self.per_page)
        else:
            pages = self._pages_counted()
        return min(pages, self.max_pages) if self.max_pages else pages

    def _pages_counted(self):
        # Django's own reckoning (Paginator.num_pages, a cached property this one
        # replaces, so it cannot be asked without caching its figure over ours).
        if self.count == 0 and not self.allow_empty_first_page:
            return 0
        return math.ceil(max(1, self.count - self.orphans) / self.per_page)

    @property
    def more_pages(self):
        """Whether the list goes on past the pages it offers."""
        return not self.count_is_exact or self._pages_counted() > self.num_pages


# Keyset cursors.


class BadCursor(ValueError):
    """A cursor that cannot be used: see its two kinds."""


class UnreadableCursor(BadCursor):
    """Not a cursor made here (edited, cut short, made with another key or salt)."""


class CursorOfAnotherOrder(BadCursor):
    """A cursor of the same list in another order (the sort was changed, the cursor
    kept): its values are not positions in this order."""


def ordering_of(queryset, default=("-pk",)):
    """The queryset's order as field names, ending with the primary key. An order by
    an expression (not a name) cannot be put in a cursor: ``default`` then."""
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    if not all(isinstance(key, str) for key in ordering):
        ordering = list(default)
    names = [key.lstrip("-") for key in ordering]
    if "pk" not in names and "id" not in names:
        ordering.append("-pk" if ordering and ordering[0].startswith("-") else "pk")
    return ordering


def make_cursor(salt, ordering, seen, backwards=False, **extra):
    return signing.dumps(
        {"b": backwards, "o": ordering, "v": seen, **extra}, salt=salt, compress=True
    )


def read_cursor(salt, cursor, ordering):
    """(backwards?, the values of the row seen last, the cursor's data); a BadCursor
    when it is none of ours or belongs to another order."""
    try:
        data = signing.loads(cursor, salt=salt)
        backwards, keys, seen = data["b"], data["o"], data["v"]
    except (signing.BadSignature, TypeError, KeyError, ValueError):
        raise UnreadableCursor() from None
    if keys != ordering or not isinstance(seen, list) or len(seen) != len(ordering):
        raise CursorOfAnotherOrder()
    return bool(backwards), seen, data


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


def keyset_page(queryset, ordering, size, seen=None, backwards=False):
    """(rows, more): up to ``size`` rows after ``seen`` (before it, ``backwards``, still
    in the list's order), and whether there are more beyond them that way."""
    queryset = queryset.order_by(*ordering)
    if seen is not None:
        queryset = queryset.filter(after(ordering, seen, backwards))
    if backwards:
        queryset = queryset.reverse()
    rows = list(queryset[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    return rows, more
