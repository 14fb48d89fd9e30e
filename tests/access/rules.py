"""README's "Roles" and "Who sees what", URL pattern by URL pattern.

A rule names the objects its pattern is walked with and decides, for a user, an
object and a method, one of three verdicts:

- FORBIDDEN: the answer must not be 200 and no row may change (a redirect to the
  sign-in page, another redirect, 403, 404 and 405 are all fine);
- READ: any answer but a 5xx, and no row may change;
- WRITE: any answer but a 5xx.

A GET is never more than READ. A pattern is known by its URL name, or by its route
when it has none; a pattern without a rule fails the walk, naming it. To cover a new
page, add its rule to SITE or ADMIN below; a model newly registered in the admin gets
its pages from one line in ADMIN_MODELS.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from api.models import ApiToken
from digests.models import CaseLinkView, Subscription
from evidence.models import CustodyEvent, EvidenceItem, Source, StoredFile
from exchange.models import ImportJob
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
from webhooks.models import Endpoint, WebhookDelivery

FORBIDDEN, READ, WRITE = "forbidden", "read", "write"
ADMINISTRATOR = "Administrator"


# Who the user is.


def roles_of(user):
    """The user's roles: their groups, and Administrator for a superuser."""
    if user is None or not user.is_active:
        return frozenset()
    if not hasattr(user, "_walk_roles"):
        names = set(user.groups.values_list("name", flat=True))
        user._walk_roles = frozenset(names | ({ADMINISTRATOR} if user.is_superuser else set()))
    return user._walk_roles


def anyone(user, obj=None):
    return True


def nobody(user, obj=None):
    return False


def signed_in(user, obj=None):
    return user is not None and user.is_active


def staff(user, obj=None):
    """Who may use the admin: the team with staff status (a stakeholder given it gets
    nothing there)."""
    return signed_in(user) and user.is_staff and in_team(user)


def is_admin(user, obj=None):
    return ADMINISTRATOR in roles_of(user)


def is_monitor(user):
    return roles.MONITOR in roles_of(user)


def is_reviewer(user):
    return roles.REVIEWER in roles_of(user)


def in_team(user, obj=None):
    """Monitors, reviewers and administrators: the people who log and check cases."""
    return is_monitor(user) or is_reviewer(user) or is_admin(user)


def has_a_role(user, obj=None):
    return bool(roles_of(user))


def monitors_and_admins(user, obj=None):
    return is_monitor(user) or is_admin(user)


def reviewers_and_admins(user, obj=None):
    return is_reviewer(user) or is_admin(user)


# Cases: README's "Who sees what" and the review workflow.


def sees_case(user, case):
    """A draft is its author's; once submitted, monitors and reviewers see it;
    stakeholders see approved cases only; administrators see everything."""
    if is_admin(user):
        return True
    if is_monitor(user) or is_reviewer(user):
        return case.state != State.DRAFT or case.created_by_id == user.pk
    if roles.STAKEHOLDER in roles_of(user):
        return case.state == State.APPROVED
    return False


def edits_case(user, case):
    """Its creator, a monitor, while a draft or sent back for changes; administrators."""
    if is_admin(user):
        return True
    return (
        is_monitor(user)
        and case.created_by_id == user.pk
        and case.state in (State.DRAFT, State.CHANGES_REQUESTED)
    )


OPEN = {State.DRAFT, State.SUBMITTED, State.IN_REVIEW, State.CHANGES_REQUESTED}
# action: (who takes it, the states it leaves)
WORKFLOW = {
    "submit": ("author", {State.DRAFT, State.CHANGES_REQUESTED}),
    "withdraw": ("author", OPEN),
    "start_review": ("reviewer", {State.SUBMITTED}),
    "request_changes": ("reviewer", {State.IN_REVIEW}),
    "approve": ("reviewer", {State.IN_REVIEW}),
    "reject": ("reviewer", {State.IN_REVIEW}),
    "mark_duplicate": ("reviewer", {State.SUBMITTED, State.IN_REVIEW, State.CHANGES_REQUESTED}),
    "reopen": ("administrator", {State.APPROVED, State.REJECTED, State.WITHDRAWN}),
}
# The monitors' pages take only the author's steps; reviewing is in the admin.
PAGE_ACTIONS = {"submit", "withdraw"}


@dataclass(frozen=True)
class Step:
    """A workflow action asked of a case, by URL."""

    case: Case
    action: str


def may_act(user, step):
    """Whether the user is one who takes this action on this case, in whatever state."""
    if step.action not in WORKFLOW or not signed_in(user):
        return False
    who = WORKFLOW[step.action][0]
    own = step.case.created_by_id == user.pk
    if who == "author":
        return own or is_admin(user)
    if who == "reviewer":
        # The four-eyes rule holds for administrators too.
        return reviewers_and_admins(user) and not own
    return is_admin(user)


def may_take(user, step, state=None):
    """Whether the user may take the step now, or from ``state``."""
    return may_act(user, step) and (state or step.case.state) in WORKFLOW[step.action][1]


@dataclass(frozen=True)
class ItemOnCase:
    """An evidence item asked for under a case's URL: its own, or another case's."""

    case: Case
    item: EvidenceItem


def edits_evidence(user, target):
    """The case's monitor edits its evidence while they may edit the case; an item
    asked for under another case's URL is nobody's to edit there."""
    return target.item.case_id == target.case.pk and edits_case(user, target.case)


def manages_subscriptions(user, obj=None):
    return ADMIN_MODELS[Subscription].sees(user, None)


# The admin, model by model: who sees the list and an object, adds, changes, deletes.


@dataclass(frozen=True)
class ModelRule:
    sees: Any  # (user, object or None for the list) -> bool
    adds: Any = nobody
    changes: Any = nobody
    deletes: Any = nobody
    acts_on_list: Any = None  # bulk actions; by default Django's "delete selected"

    def writes_from_list(self, user):
        return (self.acts_on_list or self.deletes)(user, None)


def case_bound(case_of, who=has_a_role):
    """Seen by ``who`` when they see the case it belongs to."""
    return lambda user, obj: who(user) and (obj is None or sees_case(user, case_of(obj)))


ADMINISTRATORS_ONLY = ModelRule(sees=is_admin, adds=is_admin, changes=is_admin, deletes=is_admin)
# Weapon systems and sanctions provisions: the team reads them, administrators edit them.
REFERENCE_DATA = ModelRule(sees=in_team, adds=is_admin, changes=is_admin, deletes=is_admin)

ADMIN_MODELS = {
    # Cases are withdrawn, never deleted; reviewing happens through bulk actions too.
    Case: ModelRule(
        sees=case_bound(lambda case: case),
        adds=monitors_and_admins,
        changes=edits_case,
        acts_on_list=reviewers_and_admins,
    ),
    # Evidence is added and edited on its case and never deleted; custody events,
    # stored files and reminders are written by the application alone.
    EvidenceItem: ModelRule(sees=case_bound(lambda item: item.case)),
    CustodyEvent: ModelRule(sees=case_bound(lambda event: event.item.case, in_team)),
    StoredFile: ModelRule(
        sees=lambda user, file: (
            in_team(user)
            and (file is None or any(sees_case(user, item.case) for item in file.items.all()))
        )
    ),
    Reminder: ModelRule(sees=is_admin),
    Notification: ModelRule(sees=is_admin),
    # Monitors propose sources, reviewers grade them (Walk.regraded checks the grades).
    Source: ModelRule(
        sees=has_a_role, adds=monitors_and_admins, changes=reviewers_and_admins, deletes=is_admin
    ),
    WeaponSystem: REFERENCE_DATA,
    SanctionsProvision: REFERENCE_DATA,
    Subscription: ADMINISTRATORS_ONLY,
    # Written only by a digest's case link page; read-only for everyone.
    CaseLinkView: ModelRule(sees=is_admin),
    get_user_model(): ADMINISTRATORS_ONLY,
    Group: ADMINISTRATORS_ONLY,
    AccessAttempt: ADMINISTRATORS_ONLY,
    AccessLog: ADMINISTRATORS_ONLY,
    AccessFailureLog: ADMINISTRATORS_ONLY,
    # Webhook endpoints hold their secrets; deliveries are the application's record.
    Endpoint: ADMINISTRATORS_ONLY,
    WebhookDelivery: ModelRule(sees=is_admin),
    # API tokens: administrators issue and revoke them; revoked ones stay on record.
    ApiToken: ModelRule(sees=is_admin, adds=is_admin, changes=is_admin, acts_on_list=is_admin),
    # Second factors: administrators remove a lost phone; nobody reads a secret.
    TOTPDevice: ADMINISTRATORS_ONLY,
    StaticDevice: ADMINISTRATORS_ONLY,
}
ADMIN_APPS = {model._meta.app_label for model in ADMIN_MODELS}


# Rules, and the objects each pattern is walked with.


@dataclass(frozen=True)
class Target:
    obj: Any = None
    args: tuple = ()
    query: str = ""


@dataclass(frozen=True)
class Rule:
    family: str
    targets: Any  # world -> iterable of Target
    sees: Any  # (user, obj) -> bool
    writes: Any = nobody  # (user, obj) -> bool, for a POST
    post_forbidden: bool = False  # read-only pages whose POST would write (history forms)
    # obj -> the case the URL itself grants sight of, whoever asks (a digest's case
    # link); its markers are then not hidden from the user.
    reveals: Any = None
    # The API's: (world, target) -> [(method, body, format)] sent after the GET, instead
    # of the page's own form; format "json" or "multipart".
    requests: Any = None

    def verdict(self, user, obj, method):
        if not self.sees(user, obj):
            return FORBIDDEN
        if method == "GET":
            return READ
        if self.post_forbidden:
            return FORBIDDEN
        return WRITE if self.writes(user, obj) else READ


def once(world):
    return [Target()]


def each_export_format(world):
    return [Target(format, (format,)) for format in ("csv", "jsonl", "xlsx", "no_such_format")]


def each_case(world):
    return [Target(case, (case.pk,)) for case in world.cases]


def one_case_a_state(world):
    """The monitor's case in each state and the administrator's own: a dossier's PDF and
    its package lay out a document for every request, so they are walked on these
    rather than on every case; they find the case as the dossier's page does, which is
    walked on every case."""
    authors = {world.users["monitor"].pk, world.users["administrator"].pk}
    return [Target(case, (case.pk,)) for case in world.cases if case.created_by_id in authors]


def each_step(world):
    actions = [*WORKFLOW, "no_such_action"]
    return [Target(Step(case, a), (case.pk, a)) for case in world.cases for a in actions]


def each_file(world):
    return [Target(item, (item.pk,)) for item in world.of(EvidenceItem) if item.file_id]


def each_item_on_its_case(world):
    items = world.of(EvidenceItem)
    targets = [ItemOnCase(item.case, item) for item in items]
    # The first item under every other case's URL, each case's state and author.
    targets += [ItemOnCase(case, items[0]) for case in world.cases if case != items[0].case]
    return [Target(t, (t.case.pk, t.item.pk)) for t in targets]


def each_subscription(world):
    return [Target(s, (s.pk,)) for s in world.of(Subscription)]


def each_unsubscribe_token(world):
    tokens = [(s, s.unsubscribe_token()) for s in world.of(Subscription)]
    return [Target(s, (token,)) for s, token in [*tokens, (None, "not-a-token")]]


@dataclass(frozen=True)
class CaseLink:
    """A digest's case link, and whether it opens its case (the tracker made it, its
    subscription is active, its case approved and it is not too old)."""

    case: Case
    opens: bool


def each_case_link(world):
    """Every case through an active subscription's link; the approved ones through the
    link of an ended subscription, through an expired link and through links edited to
    point elsewhere; a link that is not one."""
    active, *_ = [s for s in world.of(Subscription) if s.active]
    ended = [s for s in world.of(Subscription) if not s.active][0]
    expired = timedelta(days=settings.DIGEST_LINK_DAYS, minutes=1)
    targets = []
    for case in world.cases:
        approved = case.state == State.APPROVED
        token = factories.case_link_token(active, case)
        targets.append(Target(CaseLink(case, approved), (token,)))
        if not approved:
            continue
        other = next(c for c in world.cases if c.pk != case.pk)
        for bad in (
            factories.case_link_token(ended, case),
            factories.case_link_token(active, case, age=expired),
            factories.with_payload(token, active.pk, other.pk),
            factories.with_payload(token, ended.pk, case.pk),
            # The unsubscribe link's token opens no case.
            active.unsubscribe_token(),
        ):
            targets.append(Target(CaseLink(case, False), (bad,)))
    targets.append(Target(CaseLink(None, False), ("not-a-token",)))
    return targets


def each_user(world):
    return [Target(user, (user.pk,)) for user in world.of(get_user_model())]


def each_case_shortcut(world):
    content_type = ContentType.objects.get_for_model(Case)
    return [Target(case, (content_type.pk, case.pk)) for case in world.cases]


def each_app(world):
    return [Target(label, (label,)) for label in sorted(ADMIN_APPS)]


def each_relation(world):
    """Every forward relation to a model in the admin: the autocomplete view answers
    for any of them, not only for the fields the admin declares."""
    return [
        Target(
            field.related_model,
            query=f"?app_label={model._meta.app_label}&model_name={model._meta.model_name}"
            f"&field_name={field.name}",
        )
        for model in apps.get_models()
        if not model.__name__.startswith("Historical")
        for field in model._meta.get_fields()
        if field.concrete and field.is_relation and admin.site.is_registered(field.related_model)
    ]


def objects_of(model):
    return lambda world: [Target(obj, (obj.pk,)) for obj in world.of(model)]


def versions_of(model):
    """Each object with its latest historical version, for simple-history's form."""
    return lambda world: [
        Target(obj, (obj.pk, obj.history.latest("history_id").history_id))
        for obj in world.of(model)
    ]


def admin_rules(model, rule):
    """The rules of the pages the admin makes for a model."""
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}"
    family = f"admin: {opts.verbose_name_plural}"
    each = objects_of(model)

    def lists(user, obj=None):
        return staff(user) and rule.sees(user, None)

    def acts_on_list(user, obj=None):
        return rule.writes_from_list(user)

    def adds(user, obj=None):
        return staff(user) and rule.adds(user)

    def sees(user, obj):
        return staff(user) and rule.sees(user, obj)

    def deletes(user, obj):
        return staff(user) and rule.deletes(user, obj)

    return {
        f"{name}_changelist": Rule(family, once, lists, acts_on_list),
        f"{name}_add": Rule(family, once, adds, adds),
        f"{name}_change": Rule(family, each, sees, rule.changes),
        f"{name}_delete": Rule(family, each, deletes, deletes),
        # Django's redirect from the object's bare URL to its change page.
        f"admin/{opts.app_label}/{opts.model_name}/<path:object_id>/": Rule(family, each, sees),
        # History is read-only: it is read like the object, and never written through.
        f"{name}_history": Rule("history", each, sees),
        f"{name}_simple_history": Rule("history", versions_of(model), sees, post_forbidden=True),
    }


def each_token(world):
    return [Target(token, (token.pk,)) for token in world.of(ApiToken)]


def owns(user, token):
    return signed_in(user) and token.user_id == user.pk


SITE = {
    "login": Rule("sign-in", once, anyone, anyone),
    "logout": Rule("sign-in", once, anyone, anyone),
    # The second step of signing in; it answers only after a correct password.
    "accounts:sign_in_code": Rule("sign-in", once, anyone, anyone),
    # A user's own second factor and password: every signed-in user, for themselves.
    "accounts:account": Rule("account", once, signed_in),
    "accounts:two_factor_setup": Rule("account", once, signed_in, signed_in),
    "accounts:recovery_codes": Rule("account", once, signed_in, signed_in),
    "accounts:password_change": Rule("account", once, signed_in, signed_in),
    # Each user's API tokens: made by anyone signed in, revoked only by their owner.
    "api:tokens": Rule("account", once, signed_in, signed_in),
    "api:token_revoke": Rule("account", each_token, owns, owns),
    "tracker:dashboard": Rule("site pages", once, signed_in),
    "tracker:case_list": Rule("site pages", once, signed_in),
    "exchange:case_export": Rule("site pages", each_export_format, signed_in),
    "tracker:case_create": Rule("site pages", once, monitors_and_admins, monitors_and_admins),
    "tracker:case": Rule("case pages", each_case, sees_case),
    "tracker:case_edit": Rule("case pages", each_case, edits_case, edits_case),
    "tracker:evidence_add": Rule("case pages", each_case, edits_case, edits_case),
    "tracker:evidence_edit": Rule(
        "case pages", each_item_on_its_case, edits_evidence, edits_evidence
    ),
    "tracker:case_transition": Rule(
        "case pages",
        each_step,
        lambda user, step: step.action in PAGE_ACTIONS and may_act(user, step),
        may_take,
    ),
    "evidence:download": Rule("evidence download", each_file, lambda u, i: sees_case(u, i.case)),
    # A case's dossier and evidence package: whoever sees the case (its files, as the
    # download hands them out); a list's dossier: the cases the user sees.
    "dossiers:case": Rule("dossiers", each_case, sees_case),
    "dossiers:case_pdf": Rule("dossiers", one_case_a_state, sees_case),
    "dossiers:package": Rule("dossiers", one_case_a_state, sees_case),
    "dossiers:list": Rule("dossiers", once, signed_in),
    "dossiers:list_pdf": Rule("dossiers", once, signed_in),
    "digests:preview": Rule("digests", each_subscription, manages_subscriptions),
    # The signed token in the link is the subscriber's authority; no sign-in.
    "digests:unsubscribe": Rule("digests", each_unsubscribe_token, anyone, anyone),
    # A user's own subscription, the one sent to their address: whoever reads cases.
    "digests:subscription": Rule("digests", once, has_a_role, has_a_role),
    # A digest's case link opens its one approved case, read-only, for whoever holds
    # it, signed in or not; nothing else.
    "digests:case": Rule(
        "digests", each_case_link, lambda user, link: link.opens, reveals=lambda link: link.case
    ),
}


def imports_cases(user, obj=None):
    """Whoever may log a case may import cases: monitors and administrators."""
    return monitors_and_admins(user)


def sees_import(user, job):
    """An import is its importer's; administrators read every one."""
    return signed_in(user) and (job.created_by_id == user.pk or is_admin(user))


def confirms_import(user, job):
    """Only its importer confirms an import, while they may import."""
    return signed_in(user) and job.created_by_id == user.pk and imports_cases(user)


SITE.update(
    {
        "imports:list": Rule("imports", once, imports_cases, imports_cases),
        "imports:template": Rule(
            "imports",
            lambda world: [Target("csv", ("csv",)), Target("xlsx", ("xlsx",))],
            imports_cases,
        ),
        "imports:job": Rule("imports", objects_of(ImportJob), sees_import),
        "imports:progress": Rule("imports", objects_of(ImportJob), sees_import),
        "imports:confirm": Rule("imports", objects_of(ImportJob), sees_import, confirms_import),
    }
)


def sees_source(user, obj=None):
    return has_a_role(user)


def as_json(*bodies):
    """The API's requests for a pattern: each (method, body) as JSON."""
    return lambda world, target: [(method, body(world), "json") for method, body in bodies]


def new_case(world):
    weapon, provision = world.of(WeaponSystem)[0], world.of(SanctionsProvision)[0]
    return {
        "title": "Tampered title",
        "summary": "Tampered summary",
        "incident_type": "munitions_shipment",
        "incident_start": "2024-02-27",
        "place_name": "Rajin",
        "country": "KP",
        "weapon_systems": [weapon.pk],
        "sanctions_provisions": [provision.pk],
    }


def new_item(world):
    return {
        "title": "Tampered title",
        "source": world.of(Source)[0].pk,
        "kind": "document",
        "stance": "refutes",
        "credibility": 1,
    }


def evidence_requests(world, target):
    """A new item as JSON, and one with a file as multipart/form-data."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    with_file = {**new_item(world), "upload": SimpleUploadedFile("t.txt", b"Tampered file\n")}
    return [("POST", new_item(world), "json"), ("POST", with_file, "multipart")]


def import_requests(world, target):
    """A file of one case to import, as multipart/form-data."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = b"title,summary,incident type,incident start,place,country\nT,S,other,2024-01-02,P,UA\n"
    return [("POST", {"file": SimpleUploadedFile("t.csv", data)}, "multipart")]


def api_case_action(user, step):
    return sees_case(user, step.case) and may_act(user, step)


STEP_BODY = {"comment": "Tampered comment", "justification": "Tampered justification"}

# The JSON API: the same rules as the pages, asked as JSON, by session and by token.
API = {
    "api:schema": Rule("api", once, anyone, requests=as_json()),
    "api:docs": Rule("api", once, anyone, requests=as_json()),
    "api:not_found": Rule("api", once, anyone, requests=as_json(("POST", lambda w: {}))),
    "api:cases": Rule(
        "api", once, signed_in, monitors_and_admins, requests=as_json(("POST", new_case))
    ),
    "api:case_export": Rule("api", each_export_format, signed_in, requests=as_json()),
    "api:case": Rule(
        "api",
        each_case,
        sees_case,
        edits_case,
        requests=as_json(("PATCH", lambda w: {"title": "Tampered title"})),
    ),
    "api:case_action": Rule(
        "api", each_step, api_case_action, may_take, requests=as_json(("POST", lambda w: STEP_BODY))
    ),
    "api:case_evidence": Rule("api", each_case, sees_case, edits_case, requests=evidence_requests),
    "api:evidence_file": Rule(
        "api", each_file, lambda u, i: sees_case(u, i.case), requests=as_json()
    ),
    "api:sources": Rule(
        "api",
        once,
        sees_source,
        monitors_and_admins,
        requests=as_json(("POST", lambda w: {"name": "Tampered name", "kind": "other"})),
    ),
    "api:source": Rule("api", objects_of(Source), sees_source, requests=as_json()),
    "api:weapon_systems": Rule("api", once, signed_in, requests=as_json()),
    "api:sanctions_provisions": Rule("api", once, signed_in, requests=as_json()),
    "api:imports": Rule("api", once, imports_cases, imports_cases, requests=import_requests),
    "api:import": Rule("api", objects_of(ImportJob), sees_import, requests=as_json()),
    "api:import_confirm": Rule(
        "api",
        objects_of(ImportJob),
        sees_import,
        confirms_import,
        requests=as_json(("POST", lambda w: {})),
    ),
}

ADMIN = {
    "admin:index": Rule("admin site", once, staff),
    "admin:login": Rule("sign-in", once, anyone, anyone),
    # The site's own two-step sign-in, in front of the admin's password-only one.
    "admin/login/": Rule("sign-in", once, anyone, anyone),
    # django-otp's pages for a device's secret: refused to everyone.
    "admin:otp_totp_totpdevice_config": Rule(
        "admin: second factors", objects_of(TOTPDevice), nobody
    ),
    "admin:otp_totp_totpdevice_qrcode": Rule(
        "admin: second factors", objects_of(TOTPDevice), nobody
    ),
    "admin:logout": Rule("sign-in", once, anyone, anyone),
    "admin:password_change": Rule("admin site", once, staff, staff),
    "admin:password_change_done": Rule("admin site", once, staff),
    "admin:jsi18n": Rule("admin site", once, anyone),
    # Django's catch-all: a 404, or a redirect to sign in first.
    "admin/(?P<url>.*)$": Rule(
        "admin site", lambda world: [Target(args=("no/such/page/",))], anyone
    ),
    "admin:app_list": Rule(
        "admin site",
        each_app,
        lambda user, label: (
            staff(user)
            and any(
                rule.sees(user, None)
                for model, rule in ADMIN_MODELS.items()
                if model._meta.app_label == label
            )
        ),
    ),
    "admin:autocomplete": Rule(
        "admin site",
        each_relation,
        lambda user, model: staff(user) and ADMIN_MODELS[model].sees(user, None),
    ),
    # Redirects to the case's own page, which checks again.
    "admin:view_on_site": Rule(
        "admin site", each_case_shortcut, lambda user, case: staff(user) and sees_case(user, case)
    ),
    "admin:auth_user_password_change": Rule("admin: users", each_user, is_admin, is_admin),
    # The review panel's buttons: who may act shows the form; the state decides a POST.
    "admin:tracker_case_transition": Rule(
        "review in the admin",
        each_step,
        lambda user, step: staff(user) and sees_case(user, step.case) and may_act(user, step),
        may_take,
    ),
}
for _model, _rule in ADMIN_MODELS.items():
    ADMIN.update(admin_rules(_model, _rule))

RULES = {**SITE, **ADMIN, **API}


def case_of(obj):
    """The case an object belongs to, if any: for reporting the state walked."""
    if isinstance(obj, Case):
        return obj
    if isinstance(obj, (Step, CaseLink, ItemOnCase)):
        return obj.case
    if isinstance(obj, (EvidenceItem, Reminder, CaseLinkView)):
        return obj.case
    if isinstance(obj, CustodyEvent):
        return obj.item.case
    if isinstance(obj, (Notification, WebhookDelivery)):
        return obj.transition.case
    return None
