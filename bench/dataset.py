"""A realistic data set for the benchmark, built with bulk inserts.

Years of a busy team's work: cases spread over every state, incident type, country
pair and five years of dates; evidence items spread over sources and stances, and
approvals recorded as transitions so digests have something to report.

A larger archive is the same team's work over more years, not a busier week: past
``PACE_CASES`` cases, the cases still waiting for a decision and the approvals a week
stay those of ``PACE_CASES`` cases, and the years grow with the archive (a million
cases are 74 years of decided cases). So a page or task that costs more at a
million cases than at a hundred thousand grows with the archive, not with the work.
"""

import itertools
import random
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from digests.models import Subscription
from evidence.corroboration import refresh_corroboration
from evidence.models import EvidenceItem, Source, SourceKind, Stance
from tracker import roles
from tracker.models import Case, IncidentType, State, Transition, WeaponSystem

BATCH = 5000
COUNTRY_PAIRS = [("KP", "RU"), ("KP", "SY"), ("IR", "RU"), ("KP", "IR"), ("BY", "RU"), ("KP", "")]
PLACES = [
    ("Kharkiv", "UA"),
    ("Bryansk region", "RU"),
    ("Vladivostok", "RU"),
    ("Rajin", "KP"),
    ("Zaporizhzhia region", "UA"),
    ("near Donetsk", "UA"),
    ("Tikhoretsk", "RU"),
]
WORDS = [
    "containers",
    "shells",
    "missile",
    "debris",
    "rail",
    "port",
    "depot",
    "launcher",
    "artillery",
    "drone",
    "vessel",
    "convoy",
    "satellite",
    "imagery",
    "munitions",
]
# Most of a mature tracker's cases are decided; a steady share waits for review.
PACE_CASES = 100_000
PACE_YEARS = 5
STATE_WEIGHTS = {
    State.APPROVED: 45,
    State.REJECTED: 15,
    State.WITHDRAWN: 5,
    State.DRAFT: 10,
    State.SUBMITTED: 10,
    State.IN_REVIEW: 8,
    State.CHANGES_REQUESTED: 7,
}
WAITING = (State.DRAFT, State.SUBMITTED, State.IN_REVIEW, State.CHANGES_REQUESTED)


def build(cases=100_000, evidence=500_000, sources=200, subscriptions=1000, seed=2024, now=None):
    """Insert the data set and return the users it made, by role."""
    rng = random.Random(seed)
    now = now or timezone.now()
    with transaction.atomic():
        made = users()
        weapons = [
            WeaponSystem.objects.get_or_create(name=f"Weapon system {n}")[0] for n in range(12)
        ]
        source_ids = _sources(sources, made["reviewer"])
        case_ids = _cases(cases, made, now, rng)
        _weapon_links(case_ids, weapons, rng)
        _evidence(evidence, case_ids, source_ids, made["monitor"], rng)
        # bulk_create skips the receivers that keep each case's stored corroboration
        # (evidence.corroboration): count it here, in one UPDATE, in this transaction.
        refresh_corroboration(Case.objects.filter(reference__startswith="BENCH-"))
        _approvals(made["reviewer"])
        _subscriptions(subscriptions, rng)
    return made


def users():
    """The data set's monitor and reviewer, made if missing."""
    User = get_user_model()
    users = {}
    for username, role in [("bench-monitor", roles.MONITOR), ("bench-reviewer", roles.REVIEWER)]:
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": f"{username}@bench.invalid"}
        )
        if created:
            user.groups.add(Group.objects.get(name=role))
        users[role.lower()] = user
    return users


def _sources(count, grader):
    kinds = list(SourceKind.values)
    graded_at = timezone.now()
    Source.objects.bulk_create(
        [
            Source(
                name=f"Bench source {n}",
                kind=kinds[n % len(kinds)],
                reliability="ABCDEF"[n % 6],
                graded_by=grader,
                graded_at=graded_at,
            )
            for n in range(count)
        ],
        ignore_conflicts=True,
    )
    return list(Source.objects.filter(name__startswith="Bench source").values_list("pk", flat=True))


def _cases(count, users, now, rng):
    states = list(STATE_WEIGHTS)
    weights = state_weights(count)
    types = list(IncidentType.values)
    years = _years(count)
    start = date(now.year - years, 1, 1)
    span = (now.date() - start).days
    rows = []
    for n in range(count):
        supplier, recipient = rng.choice(COUNTRY_PAIRS)
        place, country = rng.choice(PLACES)
        state = rng.choices(states, weights)[0]
        incident = start + timedelta(days=rng.randrange(span))
        rows.append(
            Case(
                reference=f"BENCH-{n:07d}",
                title=" ".join(rng.sample(WORDS, 4)).capitalize() + f" near {place}",
                summary=" ".join(rng.choices(WORDS, k=40)),
                incident_type=rng.choice(types),
                incident_start=incident,
                place_name=place,
                country=country,
                supplier_country=supplier,
                recipient_country=recipient,
                state=state,
                state_changed_at=now - _age(state, years, rng),
                created_by=users["monitor"],
                assigned_reviewer=users["reviewer"] if state == State.IN_REVIEW else None,
            )
        )
    Case.objects.bulk_create(rows, batch_size=BATCH)
    return list(Case.objects.filter(reference__startswith="BENCH-").values_list("pk", flat=True))


def _waiting_share():
    return sum(STATE_WEIGHTS[state] for state in WAITING) / sum(STATE_WEIGHTS.values())


def state_weights(count):
    """Each state's weight. Past ``PACE_CASES`` cases, as many cases wait as in an
    archive of ``PACE_CASES``, and the decided states share the rest as before."""
    waiting = _waiting_share()
    scale = min(1, PACE_CASES / count)
    decided = (1 - waiting * scale) / (1 - waiting)
    return [
        weight * (scale if state in WAITING else decided) for state, weight in STATE_WEIGHTS.items()
    ]


def _years(count):
    """The years the archive spans: ``PACE_YEARS`` for ``PACE_CASES`` cases or fewer, and
    more in proportion to the decided cases, so as many are decided a week."""
    waiting = _waiting_share() * min(count, PACE_CASES)
    decided_at_pace = PACE_CASES * (1 - _waiting_share())
    return max(PACE_YEARS, round(PACE_YEARS * (count - waiting) / decided_at_pace))


def _age(state, years, rng):
    """How long ago the case reached its state: decided cases over the archive's years,
    waiting ones over the last fortnight (a team keeps its backlog moving)."""
    if state in (State.SUBMITTED, State.IN_REVIEW, State.CHANGES_REQUESTED):
        return timedelta(hours=rng.randrange(14 * 24))
    return timedelta(hours=rng.randrange(years * 365 * 24))


def _weapon_links(case_ids, weapons, rng):
    through = Case.weapon_systems.through
    through.objects.bulk_create(
        [through(case_id=pk, weaponsystem_id=rng.choice(weapons).pk) for pk in case_ids],
        batch_size=BATCH,
    )


def _evidence(count, case_ids, source_ids, monitor, rng):
    stances = [Stance.SUPPORTS] * 6 + [Stance.REFUTES] * 2 + [Stance.CONTEXT] * 2
    drawn = [
        (rng.choice(case_ids), rng.choice(source_ids), rng.choice(stances), rng.randint(1, 6))
        for _ in range(count)
    ]
    # A case's evidence arrives together, as a monitor logs it: the search triggers
    # then rewrite each case's search document once, not once per batch it is in.
    drawn.sort(key=lambda row: row[0])
    for offset in range(0, count, BATCH):
        EvidenceItem.objects.bulk_create(
            [
                EvidenceItem(
                    case_id=case_id,
                    source_id=source_id,
                    kind="statement",
                    stance=stance,
                    credibility=credibility,
                    title=f"Bench item {offset + n}",
                    added_by=monitor,
                )
                for n, (case_id, source_id, stance, credibility) in enumerate(
                    drawn[offset : offset + BATCH]
                )
            ]
        )


def _approvals(reviewer):
    """Approved cases get their approval on record, some of them within the last week."""
    approved = Case.objects.filter(reference__startswith="BENCH-", state=State.APPROVED)
    rows = []
    for pk, changed in approved.values_list("pk", "state_changed_at").iterator():
        rows.append(
            Transition(
                case_id=pk,
                action="approve",
                from_state=State.IN_REVIEW,
                to_state=State.APPROVED,
                actor=reviewer,
                at=changed,
                justification="Benchmark data.",
            )
        )
        if len(rows) == BATCH:
            Transition.objects.bulk_create(rows)
            rows = []
    Transition.objects.bulk_create(rows)


def _subscriptions(count, rng, start=0):
    """Most stakeholders take everything; some follow one incident type or country.
    Numbered from ``start``, written a batch at a time."""
    types = list(IncidentType.values)
    rows = (
        Subscription(
            email=f"stakeholder{n}@bench.invalid",
            incident_types=[rng.choice(types)] if n % 4 == 1 else [],
            countries=[rng.choice(PLACES)[1]] if n % 4 == 2 else [],
        )
        for n in range(start, start + count)
    )
    for batch in itertools.batched(rows, BATCH):
        Subscription.objects.bulk_create(batch)


def subscriptions(count, seed=2024):
    """At least ``count`` subscriptions, of which exactly the first ``count`` active: a
    digest run of that size on a data set built with fewer or more."""
    existing = Subscription.objects.count()
    if existing < count:
        _subscriptions(count - existing, random.Random(seed + existing), start=existing)
    first = Subscription.objects.order_by("pk").values_list("pk", flat=True)[count - 1]
    Subscription.objects.filter(pk__lte=first).exclude(active=True).update(active=True)
    Subscription.objects.filter(pk__gt=first).exclude(active=False).update(active=False)
