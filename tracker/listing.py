"""The case list's pages: numbered links to the first few, and "Previous" and "Next"
links that carry a keyset cursor (``common.paging``), so the 1,500th page costs what
the first does and paging on while cases are logged neither repeats nor skips one.

A numbered page is an OFFSET page, cheap while it is near the top; past
``NUMBERED_PAGES`` the only way on is "Next". The count is exact up to
``EXACT_COUNT_LIMIT`` and "more than" that beyond it.
"""

import math
from dataclasses import dataclass, field

from django.contrib import messages

from common import paging

from .models import CASE_LISTS

# Offset pages offered by number. Deeper, the database would build and skip every row
# before the page (the 1,500th page of the list took 0.27 s at 100,000 cases).
NUMBERED_PAGES = 10
CURSOR_SALT = "tracker.case_list"
PAGE_PARAMETER = "page"
CURSOR_PARAMETER = "cursor"


@dataclass
class CasePage:
    object_list: list
    number: int
    count: int
    count_is_exact: bool
    size: int
    # Query strings of the page before and after this one, or None.
    previous: str | None = None
    next: str | None = None
    # (number, query string) of the first pages, when there is more than one.
    numbered: list = field(default_factory=list)

    @property
    def pages(self):
        """How many pages the list has, when its count is exact."""
        return max(1, math.ceil(self.count / self.size)) if self.count_is_exact else None

    @property
    def count_text(self):
        if not self.count_is_exact:
            return f"More than {paging.count_limit():,} cases"
        return f"{self.count:,} case" + ("" if self.count == 1 else "s")

    @property
    def more_numbered(self):
        """Whether the list goes on past the numbered pages."""
        return self.pages is None or self.pages > len(self.numbered)

    def __iter__(self):
        return iter(self.object_list)


def case_page(request, cases, size):
    """The page of ``cases`` (a filtered, sorted queryset) the request asks for, by
    ``page`` (a number up to NUMBERED_PAGES) or ``cursor`` (a "Next" or "Previous"
    link's); an unreadable cursor shows the first page and says why."""
    count, exact = paging.capped_count(cases, kept_in=CASE_LISTS)
    ordering = paging.ordering_of(cases)
    known_pages = max(1, math.ceil(count / size))
    position = cursor_position(request, ordering)
    rows = []
    if position:
        backwards, seen, number = position
        rows, more = paging.keyset_page(cases, ordering, size, seen, backwards)
        if backwards:
            has_previous, has_next = more, True
            # Back at the top of the list; the number a cursor carries is only what
            # the reader counted, and cases may have come and gone since.
            number = number if more else 1
        else:
            has_previous, has_next = True, more
    if not rows:
        # A numbered page, or a cursor whose cases have all gone: the first page.
        number = page_number(request, min(known_pages, NUMBERED_PAGES))
        rows = list(cases.order_by(*ordering)[(number - 1) * size : number * size + 1])
        has_previous, has_next = number > 1, len(rows) > size
        rows = rows[:size]
    page = CasePage(rows, max(number, 1), count, exact, size)
    query = request.GET.copy()
    query.pop(PAGE_PARAMETER, None)
    query.pop(CURSOR_PARAMETER, None)
    if rows and has_previous:
        page.previous = link(query, ordering, rows[0], backwards=True, number=page.number - 1)
    if rows and has_next:
        page.next = link(query, ordering, rows[-1], backwards=False, number=page.number + 1)
    if known_pages > 1:
        page.numbered = [
            (n, numbered(query, n)) for n in range(1, min(known_pages, NUMBERED_PAGES) + 1)
        ]
    return page


def cursor_position(request, ordering):
    """(backwards?, the row seen last, the page's number) from the cursor, or None."""
    cursor = request.GET.get(CURSOR_PARAMETER)
    if not cursor:
        return None
    try:
        backwards, seen, data = paging.read_cursor(CURSOR_SALT, cursor, ordering)
    except paging.CursorOfAnotherOrder:
        messages.warning(
            request,
            "That page's link belongs to the list in another order; "
            "here is the first page in this order.",
        )
        return None
    except paging.UnreadableCursor:
        messages.warning(
            request,
            "That page's link could not be read (it was cut short or changed); "
            "here is the first page.",
        )
        return None
    number = data.get("n")
    return backwards, seen, number if isinstance(number, int) and number > 0 else 1


def page_number(request, last):
    """The numbered page asked for, 1 to ``last``: a number past it shows the last
    (beyond NUMBERED_PAGES, saying how to go on), anything else the first."""
    value = request.GET.get(PAGE_PARAMETER, "")
    if not (value.isascii() and value.isdecimal()) or len(value) > 9 or int(value) < 1:
        return 1
    number = int(value)
    if number > last == NUMBERED_PAGES:
        messages.info(
            request,
            f"Pages are numbered up to {NUMBERED_PAGES}: here is page {NUMBERED_PAGES}; "
            "“Next page” leads on from it.",
        )
    return min(number, last)


def link(query, ordering, row, backwards, number):
    query = query.copy()
    if number <= 1 and backwards:
        # The top of the list: the first page as everyone's link to it reads.
        return query.urlencode()
    query[CURSOR_PARAMETER] = paging.make_cursor(
        CURSOR_SALT, ordering, paging.values_of(row, ordering), backwards, n=number
    )
    return query.urlencode()


def numbered(query, number):
    query = query.copy()
    if number > 1:
        query[PAGE_PARAMETER] = str(number)
    return query.urlencode()


def cursor_after(row, ordering, number):
    """The cursor of page ``number``, which starts after ``row`` (the bench starts
    deep in the list with it)."""
    return paging.make_cursor(CURSOR_SALT, ordering, paging.values_of(row, ordering), n=number)
