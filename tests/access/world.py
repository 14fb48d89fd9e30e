"""The world the access walk runs in: one user of each role, and cases in every review
state by a monitor, by a user who is both monitor and reviewer, and by an
administrator, each with an evidence item and its file, custody, review steps, a
reminder and field history."""

import datetime
from dataclasses import dataclass, field

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from api.models import ApiToken, Scope
from digests.models import CaseLinkView, DigestDelivery, Subscription
from evidence.custody import add_evidence
from evidence.models import CustodyEvent, EvidenceItem, Source, StoredFile
from exchange.models import ImportJob, Status
from tests import factories
from tracker import roles
from tracker.models import (
    Case,
    Notification,
    Reminder,
    SanctionsProvision,
    State,
    WeaponSystem,
)
from webhooks.models import Endpoint, Event, WebhookDelivery

# Each case's and each item's title carries a marker, so a page that shows something
# its reader may not see is caught by the text alone. Hyphens never occur in the
# random tokens a page carries (CSRF), so a marker cannot turn up by chance.
CASE_MARKER = "marker-case-{:02d}"
ITEM_MARKER = "marker-item-{:02d}"


# The API is also walked with personal API tokens: each role's own (read-write), some
# read-only, and tokens that must be refused (expired, revoked, an inactive owner's).
TOKEN_ROLES = {
    # role: (whose, scope)
    **{
        f"{role}, API token": (role, Scope.WRITE)
        for role in (
            "administrator",
            "monitor",
            "other monitor",
            "reviewer",
            "reviewing monitor",
            "stakeholder",
            "stakeholder with staff status",
        )
    },
    **{
        f"{role}, read-only API token": (role, Scope.READ)
        for role in ("administrator", "monitor", "reviewer")
    },
}
REFUSED_TOKEN_ROLES = [
    "monitor, expired API token",
    "reviewer, revoked API token",
    "inactive monitor, API token",
]


@dataclass
class World:
    users: dict  # role -> User, None for the anonymous visitor
    objects: dict = field(default_factory=dict)  # model -> the instances the walk visits
    tokens: dict = field(default_factory=dict)  # token role -> (token, read-only?)

    @property
    def cases(self):
        return self.objects[Case]

    def of(self, model):
        return self.objects.get(model, [])


def build(case_factory):
    """``case_factory`` is the fixture of tests/conftest.py, which moves a case
    through the workflow into a state."""
    users = {
        "anonymous": None,
        "monitor": factories.monitor("monitor"),
        "other monitor": factories.monitor("monitor2"),
        "reviewer": factories.reviewer("reviewer"),
        "reviewing monitor": factories.monitor("revmon"),
        "stakeholder": factories.stakeholder("stakeholder"),
        "stakeholder with staff status": factories.UserFactory(
            username="stakeholder2", role=roles.STAKEHOLDER
        ),
        "administrator": get_user_model().objects.create_superuser(
            "admin", "admin@example.org", "pw"
        ),
    }
    users["reviewing monitor"].groups.add(Group.objects.get(name=roles.REVIEWER))
    # A partner's webhook: the transitions below open its deliveries.
    Endpoint.objects.create(
        name="Partner", url="http://127.0.0.1:9/hooks", events=list(Event.values)
    )
    sources = (
        factories.SourceFactory(name="ROK National Intelligence Service", reliability="B"),
        factories.SourceFactory(name="Reuters", reliability="F"),
    )
    reference_data = (
        WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile"),
        SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a)"),
    )
    authors = [
        (users["monitor"], list(State)),
        (users["reviewing monitor"], list(State)),
        # An administrator's own case, waiting for someone else's review.
        (users["administrator"], [State.IN_REVIEW]),
    ]
    cases = []
    for author, states in authors:
        for state in states:
            title = f"Shells by rail, {CASE_MARKER.format(len(cases))}"
            case = case_factory(
                state, created_by=author, by_reviewer=users["reviewer"], title=title
            )
            cases.append(case)
            equip(case, len(cases) - 1, users["administrator"], sources, reference_data)

    Subscription.objects.create(email="stakeholder@example.org", user=users["stakeholder"])
    committee = Subscription.objects.create(email="committee@example.org", countries=["UA"])
    DigestDelivery.objects.create(subscription=committee, period_end=datetime.date(2024, 10, 14))
    Subscription.objects.create(email="former@example.org", active=False)
    # The committee opened an approved case from its digest: administrators read that.
    approved = next(case for case in cases if case.state == State.APPROVED)
    CaseLinkView.objects.create(subscription=committee, case=approved)
    access = {"username": "monitor", "ip_address": "192.0.2.1", "user_agent": "walk"}
    AccessAttempt.objects.create(failures_since_start=1, **access)
    AccessLog.objects.create(**access)
    AccessFailureLog.objects.create(**access)
    # The reviewer's phone and recovery codes: only administrators manage them.
    TOTPDevice.objects.create(user=users["reviewer"], name="phone", confirmed=True)
    StaticDevice.objects.create(user=users["reviewer"], name="recovery codes", confirmed=True)

    # Who heard of each submission (opened by the transitions above): administrators
    # only read them, beside the case or alone.

    # Imports: a monitor's preview waiting to be confirmed, an administrator's done.
    for whose, status in (("monitor", Status.PREVIEWED), ("administrator", Status.APPLIED)):
        ImportJob.objects.create(
            created_by=users[whose],
            original_filename=f"{whose}-cases.csv",
            stored_name=f"{whose}-upload",
            size=100,
            status=status,
            rows=1,
            created=1,
        )

    world = World(users=users, objects={Case: cases})
    issue_tokens(world)
    for model in (
        EvidenceItem,
        StoredFile,
        Reminder,
        Notification,
        Source,
        WeaponSystem,
        SanctionsProvision,
        Subscription,
        CaseLinkView,
        Group,
        get_user_model(),
        AccessAttempt,
        AccessLog,
        AccessFailureLog,
        TOTPDevice,
        StaticDevice,
        Endpoint,
        WebhookDelivery,
        ApiToken,
        ImportJob,
    ):
        world.objects[model] = list(model.objects.order_by("pk"))
    # Every delivery shares the others' rules: two are enough to walk.
    world.objects[WebhookDelivery] = world.objects[WebhookDelivery][:2]
    # One custody event an item: the others share its visibility.
    first_events = CustodyEvent.objects.order_by("item", "pk")
    world.objects[CustodyEvent] = list({e.item_id: e for e in first_events}.values())
    return world


def equip(case, number, administrator, sources, reference_data):
    """An evidence item with its file (added by an administrator, who may in every
    state), the reference data and a reminder."""
    weapon, provision = reference_data
    case.weapon_systems.add(weapon)
    case.sanctions_provisions.add(provision)
    source, outlet = sources
    add_evidence(
        case,
        administrator,
        upload=ContentFile(f"Rail manifest of {case.reference}\n".encode()),
        original_filename="manifest.txt",
        source=source,
        reporting_outlet=outlet,
        kind="document",
        stance="supports",
        title=f"Manifest, {ITEM_MARKER.format(number)}",
    )
    Reminder.objects.create(case=case, date=timezone.localdate(), kind="reminder")


def issue_tokens(world):
    """The token roles' tokens, last used now: the walk keeps the last use from being
    written again (it is a read's record, like the session), see tests/test_access.py."""
    now = timezone.now()
    for role, (whose, scope) in TOKEN_ROLES.items():
        token, secret = ApiToken.issue(world.users[whose], f"{role} script", scope)
        world.users[role] = world.users[whose]
        world.tokens[role] = (secret, scope == Scope.READ)
    expired, secret = ApiToken.issue(
        world.users["monitor"], "expired", Scope.WRITE, expires_at=now - datetime.timedelta(days=1)
    )
    world.users["monitor, expired API token"], world.tokens["monitor, expired API token"] = (
        None,
        (secret, False),
    )
    revoked, secret = ApiToken.issue(world.users["reviewer"], "revoked", Scope.WRITE)
    revoked.revoke()
    world.users["reviewer, revoked API token"] = None
    world.tokens["reviewer, revoked API token"] = (secret, False)
    inactive = factories.monitor("inactive-monitor")
    inactive.is_active = False
    inactive.save()
    _, secret = ApiToken.issue(inactive, "inactive", Scope.WRITE)
    world.users["inactive monitor, API token"] = inactive
    world.tokens["inactive monitor, API token"] = (secret, False)
    ApiToken.objects.update(last_used_at=now)
