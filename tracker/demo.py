"""The demo: the incidents of docs/domain.md, its reference data and
one user per role. ``manage.py load_demo`` loads it; loading twice changes nothing."""

import secrets
from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction

from evidence.custody import add_evidence
from evidence.models import Source

from . import roles, workflow
from .models import (
    Case,
    DatePrecision,
    IncidentType,
    SanctionsProvision,
    Subscription,
    WeaponSystem,
)

WEAPON_SYSTEMS = [
    ("Hwasong-11 (KN-23/KN-24) ballistic missile", "ballistic missile"),
    ("Artillery ammunition", "ammunition"),
    ("Munitions (unspecified)", "ammunition"),
    ("Military personnel", "personnel"),
]

SANCTIONS_PROVISIONS = [
    (
        "1718 (2006)",
        "8 (a), (b)",
        "All states shall prevent the supply of arms and related materiel to and from "
        "the DPRK, and the DPRK shall cease the export of all such items.",
    ),
    (
        "1874 (2009)",
        "9",
        "Extends the arms embargo of 1718 to all arms and related materiel, and to "
        "financial transactions, training, advice and services related to them.",
    ),
    (
        "2270 (2016)",
        "6",
        "Extends the embargo to any item that could contribute to the operational "
        "capabilities of the DPRK's armed forces.",
    ),
    (
        "2397 (2017)",
        "",
        "Further restricts the DPRK's trade, including its exports of food and "
        "agricultural products and imports of industrial machinery.",
    ),
]

# key: (name, kind, country, Admiralty reliability)
SOURCES = {
    "shin": ("ROK Minister of National Defense Shin Won-sik", "government", "KR", "B"),
    "kim": ("ROK Defense Minister Kim Yong-hyun", "government", "KR", "B"),
    "trilateral": ("Governments of the US, ROK and Japan (joint statement)", "government", "", "B"),
    "kremlin": ("Kremlin spokesman Dmitry Peskov", "spokesperson", "RU", "D"),
    "dprk": ("DPRK government (KCNA)", "government", "KP", "E"),
    "kirby": ("White House NSC spokesman John Kirby", "spokesperson", "US", "B"),
    "un": (
        "UN Panel of Experts established pursuant to resolution 1874 (2009)",
        "intergovernmental",
        "",
        "A",
    ),
    "reuters": ("Reuters", "news_outlet", "GB", "B"),
    "ua_army": ("Ukrainian army", "armed_forces", "UA", "C"),
    "nis": ("Republic of Korea National Intelligence Service", "intelligence", "KR", "B"),
    "zelensky": (
        "President Volodymyr Zelensky (citing Ukrainian intelligence)",
        "government",
        "UA",
        "C",
    ),
    "howell": ("Edward Howell, University of Oxford", "research_group", "GB", "C"),
    "flynn": ("Gen. Charles Flynn, US Army Pacific", "armed_forces", "US", "B"),
}

# Each incident: the case's fields, its weapon systems and provisions by name, and the
# review state the demo leaves it in.
INCIDENTS = [
    {
        "title": "About 6,700 containers of DPRK munitions shipped to Russia",
        "summary": (
            "About 6,700 containers holding millions of munitions were shipped from the "
            "DPRK to Russia, in exchange for food and raw materials for weapons production."
        ),
        "incident_type": IncidentType.MUNITIONS_SHIPMENT,
        "incident_start": date(2023, 9, 1),
        "incident_end": date(2024, 2, 29),
        "date_precision": DatePrecision.MONTH,
        "place_name": "DPRK to Russia",
        "country": "RU",
        "supplier_country": "KP",
        "recipient_country": "RU",
        "reported_quantity": "about 6,700 containers (millions of munitions)",
        "weapons": ["Munitions (unspecified)", "Artillery ammunition"],
        "provisions": ["1718 (2006)", "1874 (2009)"],
        "state": "in_review",
        "evidence": [
            (
                "shin",
                "supports",
                "statement",
                2,
                "Shin Won-sik to reporters: about 6,700 containers",
                "About 6,700 containers holding millions of munitions shipped since September.",
                date(2024, 2, 27),
                None,
                None,
            ),
            (
                "trilateral",
                "supports",
                "statement",
                2,
                "US–ROK–Japan joint statement",
                "Condemns ongoing arms transfers from the DPRK to Russia.",
                date(2024, 6, 23),
                None,
                None,
            ),
            (
                "kremlin",
                "refutes",
                "statement",
                5,
                "Kremlin denies arms deals with the DPRK",
                "",
                None,
                None,
                None,
            ),
            (
                "dprk",
                "refutes",
                "statement",
                5,
                "Pyongyang denies arms transfers",
                "",
                None,
                None,
                None,
            ),
        ],
    },
    {
        "title": "DPRK-provided ballistic missile lands in an open field in Zaporizhzhia region",
        "summary": (
            "A ballistic missile provided by the DPRK was launched by Russian forces and "
            "landed in an open field in the Zaporizhzhia region."
        ),
        "incident_type": IncidentType.BATTLEFIELD_USE,
        "incident_start": date(2023, 12, 30),
        "place_name": "Zaporizhzhia region",
        "country": "UA",
        "supplier_country": "KP",
        "recipient_country": "RU",
        "reported_quantity": "one missile",
        "weapons": ["Hwasong-11 (KN-23/KN-24) ballistic missile"],
        "provisions": ["1718 (2006)", "1874 (2009)"],
        "state": "submitted",
        "evidence": [
            (
                "kirby",
                "supports",
                "statement",
                3,
                "Kirby: DPRK missile landed in an open field",
                "Citing US intelligence, a DPRK-provided ballistic missile landed in an open field "
                "in the Zaporizhzhia region on 30 December.",
                date(2024, 1, 4),
                None,
                None,
            ),
        ],
    },
    {
        "title": "Debris of a missile that hit Kharkiv derives from a DPRK Hwasong-11",
        "summary": (
            "Debris of a rocket that hit Kharkiv derives from a DPRK Hwasong-11 series "
            "ballistic missile, a violation of the arms embargo. UN monitors could not "
            "independently establish where it was launched from or by whom."
        ),
        "incident_type": IncidentType.BATTLEFIELD_USE,
        "incident_start": date(2024, 1, 2),
        "place_name": "Kharkiv",
        "country": "UA",
        "latitude": "49.993500",
        "longitude": "36.230400",
        "supplier_country": "KP",
        "recipient_country": "RU",
        "reported_quantity": "one missile (debris)",
        "weapons": ["Hwasong-11 (KN-23/KN-24) ballistic missile"],
        "provisions": ["1718 (2006)", "1874 (2009)"],
        "state": "submitted",
        "evidence": [
            (
                "un",
                "supports",
                "forensic",
                1,
                "UN monitors: Kharkiv debris is a Hwasong-11",
                "Debris derives from a Hwasong-11 series ballistic missile; the monitors could not "
                "independently establish where it was launched from or by whom.",
                date(2024, 4, 29),
                "reuters",
                "Demo excerpt: UN sanctions monitors told the Security Council that debris of the "
                "missile that hit Kharkiv on 2 January 2024 derives from a DPRK Hwasong-11 series "
                "ballistic missile.\n",
            ),
            (
                "kirby",
                "supports",
                "statement",
                3,
                "Kirby: further DPRK missiles fired on 2 January",
                "",
                date(2024, 1, 4),
                None,
                None,
            ),
            (
                "howell",
                "context",
                "statement",
                6,
                "Expert commentary (Edward Howell)",
                "",
                None,
                None,
                None,
            ),
        ],
    },
    {
        "title": "Ukrainian drone strike on a Russian arsenal holding DPRK weapons in Bryansk",
        "summary": (
            "A Ukrainian drone strike hit a Russian arsenal in the Bryansk region that "
            "held weapons sent from the DPRK."
        ),
        "incident_type": IncidentType.DEPOT_STRIKE,
        "incident_start": date(2024, 10, 9),
        "place_name": "Bryansk region",
        "country": "RU",
        "supplier_country": "KP",
        "recipient_country": "RU",
        "weapons": ["Munitions (unspecified)"],
        "provisions": ["1718 (2006)"],
        "state": "submitted",
        "evidence": [
            (
                "ua_army",
                "supports",
                "statement",
                3,
                "Ukrainian army: arsenal with DPRK weapons hit",
                "",
                date(2024, 10, 9),
                None,
                None,
            ),
        ],
    },
    {
        "title": "Russian naval vessels move 1,500 DPRK soldiers to Vladivostok",
        "summary": (
            "Russian naval vessels moved 1,500 DPRK special-forces soldiers to "
            'Vladivostok; the Kremlin called it "another fake news story".'
        ),
        "incident_type": IncidentType.PERSONNEL_DEPLOYMENT,
        "incident_start": date(2024, 10, 8),
        "incident_end": date(2024, 10, 13),
        "place_name": "Vladivostok",
        "country": "RU",
        "latitude": "43.115100",
        "longitude": "131.885500",
        "supplier_country": "KP",
        "recipient_country": "RU",
        "reported_quantity": "1,500 soldiers",
        "weapons": ["Military personnel"],
        "provisions": ["1874 (2009)"],
        "state": "submitted",
        "evidence": [
            (
                "nis",
                "supports",
                "official_report",
                2,
                "NIS: 1,500 special forces moved by sea",
                "Russian naval vessels moved 1,500 DPRK soldiers to Vladivostok between 8 and 13 "
                "October.",
                date(2024, 10, 18),
                None,
                "Demo excerpt: the ROK National Intelligence Service said Russian naval vessels "
                "moved 1,500 North Korean special forces to Vladivostok from 8 to 13 October.\n",
            ),
            (
                "zelensky",
                "supports",
                "statement",
                3,
                "Zelensky cites Ukrainian intelligence",
                "",
                date(2024, 10, 17),
                None,
                None,
            ),
            (
                "kremlin",
                "refutes",
                "statement",
                4,
                'Peskov: "another fake news story"',
                "This seems to be another fake news story.",
                date(2024, 10, 18),
                None,
                None,
            ),
            (
                "flynn",
                "context",
                "statement",
                6,
                "Gen. Charles Flynn on DPRK-Russia cooperation",
                "",
                None,
                None,
                None,
            ),
        ],
    },
    {
        "title": 'DPRK officers "highly likely" killed in a Ukrainian attack near Donetsk',
        "summary": (
            'DPRK officers were "highly likely" killed in a Ukrainian attack near '
            "Donetsk, according to the ROK Defense Minister."
        ),
        "incident_type": IncidentType.PERSONNEL_DEPLOYMENT,
        "incident_start": date(2024, 10, 3),
        "place_name": "near Donetsk",
        "country": "UA",
        "supplier_country": "KP",
        "recipient_country": "RU",
        "weapons": ["Military personnel"],
        "provisions": ["1874 (2009)"],
        "state": "changes_requested",
        "evidence": [
            (
                "kim",
                "supports",
                "testimony",
                3,
                "Kim Yong-hyun to lawmakers: officers likely killed",
                'DPRK officers were "highly likely" killed in a Ukrainian attack near Donetsk.',
                date(2024, 10, 8),
                None,
                None,
            ),
        ],
    },
]

# username, role group (None: administrator), is_staff
DEMO_USERS = [
    ("admin", None),
    ("monitor", roles.MONITOR),
    ("reviewer", roles.REVIEWER),
    ("reviewer2", roles.REVIEWER),
    ("stakeholder", roles.STAKEHOLDER),
]


# Digest subscribers: email, the demo user they belong to (most have none), filters.
SUBSCRIPTIONS = [
    ("sanctions-committee@demo.invalid", None, {}),
    ("analyst@demo.invalid", None, {"incident_types": [IncidentType.BATTLEFIELD_USE]}),
    ("stakeholder@demo.invalid", "stakeholder", {"countries": ["UA", "RU"]}),
]


def load_demo():
    """Load the demo. Returns {username: password} for the users it created."""
    with transaction.atomic():
        passwords = _create_users()
        _create_reference_data()
        _create_incidents()
        _create_subscriptions()
    return passwords


def _create_users():
    User = get_user_model()
    passwords = {}
    for username, role in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            continue
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username=username,
            email=f"{username}@demo.invalid",
            password=password,
            is_staff=role != roles.STAKEHOLDER,
            is_superuser=role is None,
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        passwords[username] = password
    return passwords


def _create_reference_data():
    for name, category in WEAPON_SYSTEMS:
        WeaponSystem.objects.get_or_create(name=name, defaults={"category": category})
    for resolution, paragraph, summary in SANCTIONS_PROVISIONS:
        SanctionsProvision.objects.get_or_create(
            resolution=resolution, paragraph=paragraph, defaults={"summary": summary}
        )


def _create_sources(monitor, grader):
    """The monitor proposes each source and a reviewer who created no case grades it,
    so the sources count towards the corroboration of the monitor's cases."""
    sources = {}
    for key, (name, kind, country, reliability) in SOURCES.items():
        source = Source.objects.filter(name=name).first()
        if source is None:
            source = Source(name=name, kind=kind, country=country)
            source.propose(monitor)
            source.grade(reliability, grader)
            source.save()
        sources[key] = source
    return sources


def _create_incidents():
    User = get_user_model()
    monitor = User.objects.get(username="monitor")
    reviewer = User.objects.get(username="reviewer2")
    sources = _create_sources(monitor, grader=User.objects.get(username="reviewer"))
    for incident in INCIDENTS:
        fields = dict(incident)
        weapons = fields.pop("weapons")
        provisions = fields.pop("provisions")
        state = fields.pop("state")
        evidence = fields.pop("evidence")
        if Case.objects.filter(title=fields["title"]).exists():
            continue
        case = Case.objects.create(created_by=monitor, **fields)
        case.weapon_systems.set(WeaponSystem.objects.filter(name__in=weapons))
        case.sanctions_provisions.set(SanctionsProvision.objects.filter(resolution__in=provisions))
        for source, stance, kind, credibility, title, excerpt, published, outlet, text in evidence:
            add_evidence(
                case,
                monitor,
                upload=ContentFile(text.encode()) if text else None,
                original_filename=f"{source}-excerpt.txt",
                source=sources[source],
                reporting_outlet=sources[outlet] if outlet else None,
                stance=stance,
                kind=kind,
                credibility=credibility,
                title=title,
                excerpt=excerpt,
                published_on=published,
                obtained_on=published,
            )
        # The demo reaches each state through the workflow, so its history is real.
        workflow.submit(case, monitor, "Logged from the seed article.")
        if state in ("in_review", "changes_requested"):
            workflow.start_review(case, reviewer)
        if state == "changes_requested":
            workflow.request_changes(
                case, reviewer, "Only one source so far: find a second, independent one."
            )


def _create_subscriptions():
    User = get_user_model()
    for email, username, filters in SUBSCRIPTIONS:
        user = User.objects.filter(username=username).first() if username else None
        Subscription.objects.get_or_create(email=email, defaults={"user": user, **filters})
