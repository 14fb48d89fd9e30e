"""Loads the demo from incidents.toml: the data is there, this is only how it is
stored. Cases reach their review state through the workflow, so their history is
real. Loading twice changes nothing: what exists already is left as it is."""

import secrets
import tomllib
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction

from digests.models import Subscription
from evidence.custody import add_evidence
from evidence.models import Source
from tracker import roles, workflow
from tracker.models import Case, SanctionsProvision, WeaponSystem

DATA = Path(__file__).with_name("incidents.toml")
ADMINISTRATOR = "Administrator"


def load_demo(path=DATA):
    """Load the demo. Returns {username: password} for the users it created."""
    with path.open("rb") as file:
        data = tomllib.load(file)
    with transaction.atomic():
        passwords = _create_users(data["users"])
        _create_reference_data(data["weapon_systems"], data["sanctions_provisions"])
        _create_incidents(data["incidents"], data["sources"])
        _create_subscriptions(data["subscriptions"])
    return passwords


def _create_users(users):
    User = get_user_model()
    passwords = {}
    for user in users:
        username, role = user["username"], user["role"]
        if User.objects.filter(username=username).exists():
            continue
        password = secrets.token_urlsafe(12)
        created = User.objects.create_user(
            username=username,
            email=f"{username}@demo.invalid",
            password=password,
            is_staff=role != roles.STAKEHOLDER,
            is_superuser=role == ADMINISTRATOR,
        )
        if role != ADMINISTRATOR:
            created.groups.add(Group.objects.get(name=role))
        passwords[username] = password
    return passwords


def _create_reference_data(weapon_systems, provisions):
    for weapon in weapon_systems:
        WeaponSystem.objects.get_or_create(
            name=weapon["name"],
            defaults={"category": weapon["category"], "aliases": weapon.get("aliases", "")},
        )
    for provision in provisions:
        SanctionsProvision.objects.get_or_create(
            resolution=provision["resolution"],
            paragraph=provision["paragraph"],
            defaults={"summary": provision["summary"]},
        )


def _create_sources(sources, monitor, grader):
    """The monitor proposes each source and a reviewer who created no case grades it,
    so the sources count towards the corroboration of the monitor's cases."""
    created = {}
    for key, fields in sources.items():
        source = Source.objects.filter(name=fields["name"]).first()
        if source is None:
            source = Source(name=fields["name"], kind=fields["kind"], country=fields["country"])
            source.propose(monitor)
            source.grade(fields["reliability"], grader)
            source.save()
        created[key] = source
    return created


def _create_incidents(incidents, sources):
    User = get_user_model()
    monitor = User.objects.get(username="monitor")
    reviewer = User.objects.get(username="reviewer2")
    sources = _create_sources(sources, monitor, grader=User.objects.get(username="reviewer"))
    for incident in incidents:
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
        for item in evidence:
            _add_evidence(case, monitor, sources, item)
        workflow.submit(case, monitor, "Logged from the seed article.")
        if state in ("in_review", "changes_requested"):
            workflow.start_review(case, reviewer)
        if state == "changes_requested":
            workflow.request_changes(
                case, reviewer, "Only one source so far: find a second, independent one."
            )


def _add_evidence(case, monitor, sources, item):
    text = item.get("file_text")
    outlet = item.get("outlet")
    add_evidence(
        case,
        monitor,
        upload=ContentFile(text.encode()) if text else None,
        original_filename=f"{item['source']}-excerpt.txt",
        source=sources[item["source"]],
        reporting_outlet=sources[outlet] if outlet else None,
        stance=item["stance"],
        kind=item["kind"],
        credibility=item["credibility"],
        title=item["title"],
        excerpt=item.get("excerpt", ""),
        published_on=item.get("published_on"),
        obtained_on=item.get("published_on"),
    )


def _create_subscriptions(subscriptions):
    User = get_user_model()
    for subscription in subscriptions:
        fields = dict(subscription)
        email, username = fields.pop("email"), fields.pop("user", None)
        user = User.objects.filter(username=username).first() if username else None
        Subscription.objects.get_or_create(email=email, defaults={"user": user, **fields})
