"""Walk every URL pattern of the URLconf as every role, and record what the rules
forbid but a page did anyway: a 200, a changed row, a view of something hidden, a 5xx.

Each request runs in a savepoint that is rolled back afterwards, so every request
meets the same world, and a legitimate write (a monitor saving their draft) does not
change what the next request sees.
"""

import copy
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from evidence.models import Reliability, Source
from tracker.models import Transition

from . import rules
from .world import CASE_MARKER, ITEM_MARKER

# Sessions and django-axes' records of sign-ins change with any request.
UNWATCHED_TABLES = {
    "django_session",
    "axes_accessattempt",
    "axes_accesslog",
    "axes_accessfailurelog",
}
# Rows a legitimate read writes: the custody events of a view, a download or an export
# (a dossier, an evidence package). Only a page the user may read may write them.
READ_RECORDS = {
    "evidence_custodyevent": "action IN ('viewed', 'downloaded', 'exported')",
    "digests_caselinkview": "1 = 1",
}
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
UNSUBSCRIBE_LINK = "/digests/unsubscribe/"
# A "malicious" POST: the page's own form with these fields changed (in inline
# formsets too, where the name ends with "-title").
TAMPERED = {
    "title": "Tampered title",
    "name": "Tampered name",
    "summary": "Tampered summary",
    "reliability": "A",
    "credibility": "1",
    "stance": "refutes",
    "comment": "Tampered comment",
    "justification": "Tampered justification",
    "email": "tampered@example.org",
    "is_superuser": "on",
}


def url_patterns(resolver=None, prefix="", namespace=""):
    """(key, pattern) of every URL pattern: its name with namespaces, or its route."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from url_patterns(pattern, route, inner)
        elif pattern.name:
            yield ":".join(filter(None, [namespace, pattern.name])), route
        else:
            yield route, route


def unknown_patterns(known=rules.RULES):
    return sorted(key for key, _ in url_patterns() if key not in known)


def url_of(key, route, target):
    if key != route:
        return reverse(key, args=target.args) + target.query
    # An unnamed pattern: its route with the arguments in the converters' places.
    args = iter(target.args)
    path = re.sub(r"<[^>]+>|\(\?P<\w+>[^)]*\)", lambda m: str(next(args)), route)
    return "/" + path.strip("^$") + target.query


@dataclass
class Form:
    method: str
    action: str | None
    data: list = field(default_factory=list)  # (name, value) as a browser sends them
    choices: dict = field(default_factory=dict)  # select and checkbox name -> every value


class FormParser(HTMLParser):
    """The forms of a page and what a browser would send for each."""

    def __init__(self):
        super().__init__()
        self.forms, self.select, self.options, self.textarea = [], None, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(Form(attrs.get("method", "get").lower(), attrs.get("action")))
        elif not self.forms or "disabled" in attrs:
            return
        form = self.forms[-1]
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                form.choices.setdefault(name, []).append(attrs.get("value", "on"))
                if "checked" in attrs:
                    form.data.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                form.data.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self.select, self.options = (name, "multiple" in attrs), []
        elif tag == "option" and self.select:
            self.options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]

    def handle_data(self, data):
        if self.textarea:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            name, multiple = self.select
            values = [value for value, selected in self.options if selected]
            if not values and not multiple and self.options:
                values = [self.options[0][0]]
            self.forms[-1].data.extend((name, value) for value in values)
            self.forms[-1].choices[name] = [value for value, _ in self.options]
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.forms[-1].data.append(tuple(self.textarea))
            self.textarea = None


def own_form(html, url):
    """The page's own POST form (the one posting back to it), the largest if several."""
    parser = FormParser()
    parser.feed(html)
    path = urlsplit(url).path
    own = [
        form
        for form in parser.forms
        if form.method == "post" and (not form.action or urlsplit(form.action).path == path)
    ]
    return max(own, key=lambda form: len(form.data), default=None)


def as_post(pairs):
    data = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


def tampered(form):
    """The form's data with a title, a grade, an address... changed and every empty
    choice made (so that the form can pass), every row of a list selected and its
    first action chosen; None if there is nothing to change."""
    data = as_post(form.data)
    changed = False
    for name, values in data.items():
        field_name = name.rsplit("-", 1)[-1]
        if field_name in TAMPERED:
            data[name] = [TAMPERED[field_name]]
        elif values == [""] and any(form.choices.get(name, [])):
            data[name] = [next(value for value in form.choices[name] if value)]
        else:
            continue
        changed = True
    if changed and "action" in data:
        data.update(_selected_action=form.choices.get("_selected_action", []))
        data.update(post=["yes"], apply=["1"], comment=[TAMPERED["comment"]])
    return data if changed else None


@dataclass
class Failure:
    family: str
    key: str
    role: str
    method: str
    url: str
    state: str
    status: int
    problem: str

    def __str__(self):
        where = f" ({self.state})" if self.state else ""
        return f"{self.role}: {self.method} {self.url}{where} -> {self.status}: {self.problem}"


@dataclass
class Report:
    requests: int = 0
    failures: list = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)  # status -> how many

    def count(self, kind):
        return sum(1 for failure in self.failures if failure.problem.startswith(kind))

    def summary(self):
        lines = [
            f"{self.requests} requests; {len(self.failures)} failures: "
            f"{self.count('answered 2')} unauthorised answers, "
            f"{self.count('showed')} pages showing what the user may not see, "
            f"{self.count('changed')} forbidden writes, {self.count('server error')} 5xx.",
            "Answers: "
            + ", ".join(f"{n} x {status}" for status, n in sorted(self.answers.items())),
        ]
        by_family = Counter((f.family, f.key) for f in self.failures)
        for (family, key), number in sorted(by_family.items()):
            lines.append(f"  {family} | {key}: {number}")
        return "\n".join(lines)

    def details(self):
        return "\n".join(f"{f.family} | {f.key} | {f}" for f in self.failures)


class WriteWatch:
    """Notes whether a request sent a statement that writes (cheaper than comparing
    every table after every request; the tables are compared when it did)."""

    wrote = False

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip()[:7].upper().startswith(WRITES):
            self.wrote = True
        return execute(sql, params, many, context)


def fingerprint():
    """Every watched table's row count and a hash of its rows; the rows a read writes
    are hashed apart, as "<table> read records"."""
    prints = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in UNWATCHED_TABLES:
                continue
            table_sql = connection.ops.quote_name(table)
            if table in READ_RECORDS:
                prints[f"{table} read records"] = rows_print(
                    cursor, f"SELECT * FROM {table_sql} WHERE {READ_RECORDS[table]}"
                )
                table_sql += f" WHERE NOT ({READ_RECORDS[table]})"
            prints[table] = rows_print(cursor, f"SELECT * FROM {table_sql}")
    return prints


def rows_print(cursor, sql):
    cursor.execute(sql)
    rows = sorted(map(repr, cursor.fetchall()))
    return len(rows), hash(tuple(rows))


class Walk:
    def __init__(self, world):
        self.world = world
        self.report = Report()
        self.forms = {}  # url -> the page's own form, as the first user who saw it got it
        self.markers = [(CASE_MARKER.format(n), case) for n, case in enumerate(world.cases)]
        self.markers += [(ITEM_MARKER.format(n), case) for n, case in enumerate(world.cases)]

    def run(self, roles_in_order, token_roles=()):
        """Every pattern as each of ``roles_in_order`` (signed in), and the API's as
        each of ``token_roles`` too (the world's API tokens)."""
        patterns = dict(url_patterns())
        # Signing in writes the user's last login: done before the world is measured.
        clients = {role: signed_in_client(self.world.users[role]) for role in roles_in_order}
        clients.update({role: token_client(self.world.tokens[role][0]) for role in token_roles})
        self.baseline = fingerprint()
        self.grades = dict(Source.objects.values_list("pk", "reliability"))
        self.last_transition = Transition.objects.order_by("pk").last().pk
        for role in [*roles_in_order, *token_roles]:
            user = self.world.users[role]
            read_only = self.world.tokens.get(role, (None, False))[1]
            hidden = [marker for marker, case in self.markers if not rules.sees_case(user, case)]
            if not rules.manages_subscriptions(user):
                hidden.append(UNSUBSCRIBE_LINK)
            for key in sorted(patterns):
                rule = rules.RULES[key]
                if role in token_roles and rule.requests is None:
                    continue  # a token is for the API only; the pages ignore it
                for target in rule.targets(self.world):
                    url = url_of(key, patterns[key], target)
                    hide = self.hidden_on(rule, user, target, hidden)
                    visit = Visit(self, clients[role], role, user, key, rule, target, url, hide)
                    visit.read_only = read_only
                    visit.run()
        return self.report

    def hidden_on(self, rule, user, target, hidden):
        """What must stay hidden from the user on this URL: what their role may not
        see, less the markers of the case the URL itself grants sight of (a digest's
        case link)."""
        if rule.reveals is None or not rule.sees(user, target.obj):
            return hidden
        case = rule.reveals(target.obj)
        return [marker for marker in hidden if (marker, case) not in self.markers]

    def changed_tables(self, reads_allowed=False):
        return [
            table
            for table, print_ in fingerprint().items()
            if self.baseline[table] != print_
            and not (reads_allowed and table.endswith(" read records"))
        ]

    def workflow_breaches(self):
        """The review steps recorded since the world was built that README's workflow
        forbids (a reviewer approving their own case in a bulk action...)."""
        steps = Transition.objects.filter(pk__gt=self.last_transition)
        return [
            f"changed a case's state against the workflow: {step.actor} took "
            f"{step.action} on {step.case.reference} when it was {step.from_state}"
            for step in steps.select_related("case", "actor")
            if not rules.may_take(step.actor, rules.Step(step.case, step.action), step.from_state)
        ]

    def regraded(self):
        """Sources whose grade is no longer the one they had, or that were added graded."""
        return [
            str(source)
            for source in Source.objects.all()
            if source.reliability != self.grades.get(source.pk, Reliability.F)
        ]


def token_client(secret):
    return Client(headers={"Authorization": f"Bearer {secret}"})


def signed_in_client(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@dataclass
class Visit:
    walk: Walk
    client: Client
    role: str
    user: object
    key: str
    rule: rules.Rule
    target: rules.Target
    url: str
    hidden: list
    read_only: bool = False  # a read-only API token: it may write nothing

    def run(self):
        if self.rule.verdict(self.user, self.target.obj, "GET") == rules.FORBIDDEN:
            # OPTIONS is answered before a view looks its object up: it must not say
            # 200 where a GET may not.
            self.send("OPTIONS", None)
        if self.rule.requests is not None:
            self.send("GET", None)
            for method, body, format in self.rule.requests(self.walk.world, self.target):
                self.send(method, body, format)
            return
        response = self.send("GET", None)
        form = None
        if response is not None and response.status_code == 200 and is_html(response):
            form = own_form(response.content.decode(), self.url)
        if form is not None:
            self.walk.forms.setdefault(self.url, form)
        form = form or self.walk.forms.get(self.url)
        self.send("POST", as_post(form.data) if form else {})
        if form is not None and (changed := tampered(form)) is not None:
            self.send("POST", changed)

    def send(self, method, data, format="form"):
        verdict = self.rule.verdict(self.user, self.target.obj, method)
        if self.read_only and method not in ("GET", "OPTIONS"):
            verdict = rules.FORBIDDEN
        cookies = copy.deepcopy(self.client.cookies)
        watch = WriteWatch()
        self.walk.report.requests += 1
        try:
            with connection.execute_wrapper(watch), transaction.atomic():
                if method == "GET":
                    response = self.client.get(self.url)
                elif method == "OPTIONS":
                    response = self.client.options(self.url)
                elif format == "json":
                    response = self.client.generic(
                        method, self.url, json.dumps(data), content_type="application/json"
                    )
                else:
                    response = self.client.post(self.url, data)
                body = content(response)
                problems = self.judge(verdict, response, body, watch.wrote)
                transaction.set_rollback(True)
        except Exception as error:  # a 5xx: the test client raises the view's exception
            self.walk.report.answers[500] += 1
            self.fail(method, 500, f"server error: {type(error).__name__}: {error}")
            return None
        finally:
            self.client.cookies = cookies
        self.walk.report.answers[response.status_code] += 1
        for problem in problems:
            self.fail(method, response.status_code, problem)
        return response

    def judge(self, verdict, response, body, wrote):
        problems = []
        if response.status_code >= 500:
            problems.append("server error")
        if 200 <= response.status_code < 300:
            if verdict == rules.FORBIDDEN:
                problems.append(f"answered {response.status_code} where the rules forbid it")
            if shown := [marker for marker in self.hidden if marker in body]:
                problems.append(f"showed what the user may not see: {', '.join(shown)}")
        if wrote:
            reads_allowed = verdict != rules.FORBIDDEN
            if verdict != rules.WRITE and (changed := self.walk.changed_tables(reads_allowed)):
                problems.append(f"changed rows it may not write: {', '.join(changed)}")
            problems += self.walk.workflow_breaches()
            if not rules.reviewers_and_admins(self.user) and (regraded := self.walk.regraded()):
                problems.append(f"changed a source's reliability grade: {', '.join(regraded)}")
        return problems

    def fail(self, method, status, problem):
        case = rules.case_of(self.target.obj)
        state = f"{case.state}, by {case.created_by.username}" if case else ""
        self.walk.report.failures.append(
            Failure(self.rule.family, self.key, self.role, method, self.url, state, status, problem)
        )


def is_html(response):
    return response.get("Content-Type", "").startswith("text/html")


def content(response):
    """The text of an answer, a streamed one read to its end."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode(errors="replace")
