"""Possible duplicates: cases that may report the same incident as one being logged.

A case is a candidate when its incident falls within ``DUPLICATE_WINDOW_DAYS`` of the
new one's, it shares the place (in any capitals), the country or a weapon system, and
its title and summary read alike: a score from 0 to 1 of at least
``DUPLICATE_MIN_SCORE``. The score is trigram similarity as PostgreSQL's pg_trgm
defines it (the shared share of each text's three-letter runs), the greater of the
titles' and of title and summary together. PostgreSQL works it out in the query that
finds the candidates (migration ``tracker.0013``); on SQLite, and between the rows of
one import file, ``similarity`` below computes the same number, so one threshold means
the same on both databases.

The forms warn with it before saving (the monitor may save anyway), the API returns it
with a created case, and an import checks its rows against each other (``similar_rows``).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connections
from django.db.models import Exists, OuterRef, Q, TextField, Value
from django.db.models.functions import Concat, Greatest

from .models import Case, WeaponSystem

# A warning lists a few cases, the best first: more would not be read.
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class Candidate:
    case: Case
    score: float  # 0..1


def possible_duplicates(
    *,
    user,
    title,
    summary,
    incident_start,
    incident_end,
    place_name,
    country,
    weapon_systems,
    exclude_pk=None,
) -> list[Candidate]:
    """The cases ``user`` may see that may report the incident described, best first, at
    most ``MAX_CANDIDATES``. ``country`` is an ISO code or a Country, ``weapon_systems``
    WeaponSystems or their pks; ``exclude_pk`` is the case being edited. One query."""
    if not incident_start:
        return []
    window = timedelta(days=settings.DUPLICATE_WINDOW_DAYS)
    cases = (
        Case.objects.visible_to(user)
        .during(shifted(incident_start, -window), shifted(incident_end or incident_start, window))
        .filter(_shares(place_name, country, weapon_systems))
        # A case already marked as a duplicate points to its original, which is found
        # in its own right.
        .filter(duplicate_of__isnull=True)
    )
    if exclude_pk is not None:
        cases = cases.exclude(pk=exclude_pk)
    title, summary = title or "", summary or ""
    minimum = settings.DUPLICATE_MIN_SCORE
    if connections[cases.db].vendor == "postgresql":
        found = (
            cases.annotate(
                duplicate_score=Greatest(
                    TrigramSimilarity("title", title),
                    TrigramSimilarity(
                        Concat("title", Value(" "), "summary", output_field=TextField()),
                        _text(title, summary),
                    ),
                )
            )
            # Not filtered by the score in SQL: PostgreSQL would work it out twice for
            # each case above the minimum (to filter, then to sort), and before the
            # cheaper conditions. Those above it come first, so dropping the rest of
            # the best few here leaves the same candidates.
            .order_by("-duplicate_score", "-created_at")[:MAX_CANDIDATES]
        )
        return [
            Candidate(case, case.duplicate_score)
            for case in found
            if case.duplicate_score >= minimum
        ]
    # SQLite has no trigram index: the date window and the shared place, country or
    # weapon narrow the cases enough to score them here.
    scored = [
        Candidate(case, score(title, summary, case.title, case.summary))
        for case in cases.order_by("-created_at")
    ]
    found = sorted((c for c in scored if c.score >= minimum), key=lambda c: -c.score)
    return found[:MAX_CANDIDATES]


def similar_rows(rows: list[dict]) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, score)``, ``i < j``, of rows of one import file that look like the
    same incident by the rule of ``possible_duplicates`` (each row a dict of its keyword
    arguments, without ``user``), best first. Rows without an incident date are left out."""
    window = timedelta(days=settings.DUPLICATE_WINDOW_DAYS)
    minimum = settings.DUPLICATE_MIN_SCORE
    dated = sorted(
        (
            (row["incident_start"], index, _Row.of(row))
            for index, row in enumerate(rows)
            if isinstance(row.get("incident_start"), date)
        ),
        key=lambda item: (item[0], item[1]),
    )
    pairs = []
    for position, (_, i, first) in enumerate(dated):
        reach = shifted(first.end, window)
        for later_start, j, second in dated[position + 1 :]:
            # Sorted by start: every later row starts at least as late as this one, so
            # once one starts beyond the window none can overlap it.
            if later_start > reach:
                break
            if not first.shares(second):
                continue
            value = score(first.title, first.summary, second.title, second.summary)
            if value >= minimum:
                pairs.append((min(i, j), max(i, j), value))
    return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))


def shifted(day, by):
    """``day`` moved by ``by``, stopping at the first or last day a date can hold: an
    incident dated 0001-01-01 or 9999-12-31 is valid input and has a window too."""
    try:
        return day + by
    except OverflowError:
        return date.max if by > timedelta(0) else date.min


def score(title, summary, other_title, other_summary):
    """How alike two cases read, 0 to 1: what the PostgreSQL query computes."""
    return max(
        similarity(title, other_title),
        similarity(_text(title, summary), _text(other_title, other_summary)),
    )


def similarity(a, b):
    """pg_trgm's ``similarity(a, b)``: the three-letter runs the two texts share, over
    those either has (the Jaccard index of their trigram sets)."""
    first, second = trigrams(a), trigrams(b)
    if not first or not second:
        return 0.0
    shared = len(first & second)
    return shared / (len(first) + len(second) - shared)


def trigrams(text):
    """pg_trgm's trigrams of ``text``: each word (a run of letters and digits), in lower
    case, padded with two spaces before and one after, cut into runs of three."""
    runs = set()
    for word in _words(text or ""):
        padded = f"  {word} "
        runs.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return runs


def _words(text):
    word = []
    for char in text.lower():
        if char.isalnum():
            word.append(char)
        elif word:
            yield "".join(word)
            word = []
    if word:
        yield "".join(word)


def _text(title, summary):
    return f"{title} {summary}"


def _country_code(country):
    return getattr(country, "code", country) or ""


def _weapon_pks(weapon_systems):
    return {getattr(w, "pk", w) for w in weapon_systems or ()}


def _shares(place_name, country, weapon_systems):
    """Shares the place (in any capitals), the country or a weapon system."""
    shared = Q(pk__in=[])
    if place_name and place_name.strip():
        shared |= Q(place_name__iexact=place_name.strip())
    if code := _country_code(country):
        shared |= Q(country=code)
    if pks := _weapon_pks(weapon_systems):
        shared |= Q(
            Exists(
                WeaponSystem.cases.through.objects.filter(
                    case_id=OuterRef("pk"), weaponsystem_id__in=pks
                )
            )
        )
    return shared


@dataclass(frozen=True)
class _Row:
    title: str
    summary: str
    end: date
    place: str
    country: str
    weapons: frozenset

    @classmethod
    def of(cls, row):
        return cls(
            title=row.get("title") or "",
            summary=row.get("summary") or "",
            end=row.get("incident_end") or row["incident_start"],
            place=(row.get("place_name") or "").strip().lower(),
            country=_country_code(row.get("country")),
            weapons=frozenset(_weapon_pks(row.get("weapon_systems"))),
        )

    def shares(self, other):
        return (
            (self.place and self.place == other.place)
            or (self.country and self.country == other.country)
            or bool(self.weapons & other.weapons)
        )
