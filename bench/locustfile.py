"""The load test's simulated users, run by `python -m bench.load` (which starts gunicorn,
prepares the accounts and writes the plan this file reads from ``LOAD_PLAN``).

Each role is one of the README's users: monitors browse, search, open and log cases
with a small evidence file; reviewers work in the admin and approve the cases in
review; both come back to their dashboard; stakeholders read approved cases and export
them as CSV. All simulated users of one role sign in as that role's account, each with
a session of their own.
"""

import json
import os
import random
import re
import uuid
from datetime import date
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

import requests.sessions
from locust import HttpUser, between, events, task
from locust.stats import StatsEntry
from requests.cookies import RequestsCookieJar

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
# One iterator for every reviewer of this process: each case in review is approved
# once, so no reviewer is told that someone else was quicker.
CASES_IN_REVIEW = iter(PLAN["in_review"])
SAVE_ANYWAY = 'name="save_anyway"'
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CASE_LINK = re.compile(r'href="/cases/(\d+)/"')
ADMIN_CASE_LINK = re.compile(r'href="/admin/tracker/case/(\d+)/change/')
WORDS = ["missile", "debris", "shells", "containers", "Kharkiv", "depot", "rail", "convoy"]
STATES = ["approved", "submitted", "in_review", "rejected", "changes_requested"]
SORTS = ["-date", "date", "-changed", "title"]


class ProxyHopCookieJar(RequestsCookieJar):
    """Sends secure cookies over plain HTTP, as they travel on the hop from the TLS
    proxy to gunicorn in production. requests builds a new jar for every request's
    Cookie header, so the jar's class is the one place this can be said."""

    def __init__(self, policy=None):
        super().__init__(policy or DefaultCookiePolicy(secure_protocols=("https", "http")))


requests.sessions.RequestsCookieJar = ProxyHopCookieJar
SIGN_IN = "sign in"


@events.test_stop.add_listener
def record_pages_p95(environment, **kwargs):
    """The p95 of every request but signing in, next to Locust's CSV files: a
    password is checked once a session, slowly on purpose (Argon2), and in a short
    run the whole crowd signs in at once."""
    pages = StatsEntry(environment.stats, "pages", "")
    for (name, _method), entry in environment.stats.entries.items():
        if not name.startswith(SIGN_IN):
            pages.extend(entry)
    Path(f"{environment.parsed_options.csv_prefix}_pages.json").write_text(
        json.dumps(
            {"requests": pages.num_requests, "p95_ms": pages.get_response_time_percentile(0.95)}
        )
    )


class SignedInUser(HttpUser):
    abstract = True
    # A person reads a page for longer than this: each simulated user is a busy one.
    wait_time = between(1, 5)
    role = None

    def on_start(self):
        # gunicorn sits behind a TLS-terminating proxy in production: the proxy says
        # so with X-Forwarded-Proto, and the browser sends Origin with every form.
        self.client.headers["X-Forwarded-Proto"] = "https"
        self.client.headers["Origin"] = "https://" + self.host.split("://", 1)[1]
        self.cases_seen = []
        account = PLAN["accounts"][self.role]
        self.submit(
            "/login/",
            SIGN_IN,
            {"username": account["username"], "password": account["password"]},
        )

    def submit(self, url, name, data, files=None):
        """GET a form, POST it with its CSRF token and expect the redirect that means
        it was accepted; a form shown again with errors is a failure. Returns the
        redirect's target."""
        form = self.client.get(url, name=f"{name} (form)")
        token = CSRF_TOKEN.search(form.text)
        data = {**data, "csrfmiddlewaretoken": token and token.group(1)}
        with self.client.post(
            url, data, files=files, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 200 and SAVE_ANYWAY in response.text:
                # The case form's possible-duplicates warning: the load logs alike cases
                # on purpose, and a monitor who has read the warning saves anyway.
                response.success()
                return self.submit_anyway(url, name, data, files)
            if response.status_code != 302:
                response.failure(f"expected a redirect, got {response.status_code}")
                return None
            return response.headers["Location"]

    def submit_anyway(self, url, name, data, files):
        with self.client.post(
            url,
            {**data, "save_anyway": "1"},
            files=files,
            name=f"{name} (save anyway)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"expected a redirect, got {response.status_code}")
                return None
            return response.headers["Location"]


class TeamMember(SignedInUser):
    """Monitors and reviewers come back to the dashboard between tasks: what waits for
    them, what has waited too long, the counts by state."""

    abstract = True

    @task(2)
    def dashboard(self):
        self.client.get("/", name="dashboard")


class CaseReader(SignedInUser):
    """A user of the site's own pages: the case list and the cases on it."""

    abstract = True
    states = STATES

    def browse(self, query, name="case list"):
        page = self.client.get("/cases/", params=query, name=name)
        self.cases_seen = CASE_LINK.findall(page.text) or self.cases_seen

    @task(4)
    def case_list(self):
        self.browse(
            {
                "state": random.choice(self.states),
                "sort": random.choice(SORTS),
                "page": random.randint(1, 10),
            }
        )

    @task(4)
    def open_case(self):
        if not self.cases_seen:
            self.case_list()
        self.client.get(f"/cases/{random.choice(self.cases_seen)}/", name="case page")


class Monitor(CaseReader, TeamMember):
    weight = 5
    role = "monitor"

    @task(3)
    def search(self):
        words = " ".join(random.sample(WORDS, random.randint(1, 2)))
        self.browse({"q": words, "page_size": 50}, name="case search")

    @task(1)
    def log_case(self):
        case_url = self.submit(
            "/cases/new/",
            "log case",
            {
                "title": "Containers unloaded at Rajin under load test",
                "summary": "Satellite imagery shows containers moved from a vessel to rail.",
                "incident_type": "munitions_shipment",
                "incident_start": date.today().isoformat(),
                "date_precision": "day",
                "place_name": "Rajin",
                "country": "KP",
                "supplier_country": "KP",
                "recipient_country": "RU",
            },
        )
        if case_url:
            # Unique bytes: the store keeps identical files once, and each upload
            # should be written like a new one.
            report = f"Field report {uuid.uuid4()}\nContainers counted: 42\n".encode()
            self.submit(
                f"{case_url}evidence/new/",
                "add evidence with file",
                {
                    "title": "Field report",
                    "source": random.choice(PLAN["sources"]),
                    "kind": "document",
                    "stance": "supports",
                    "credibility": 3,
                    "obtained_on": date.today().isoformat(),
                },
                files={"upload": ("field-report.txt", report, "text/plain")},
            )


class Reviewer(TeamMember):
    weight = 3
    role = "reviewer"

    @task(4)
    def admin_case_list(self):
        state = random.choice(STATES)
        page = self.client.get(
            "/admin/tracker/case/", params={"state__exact": state}, name="admin case list"
        )
        self.cases_seen = ADMIN_CASE_LINK.findall(page.text) or self.cases_seen

    @task(3)
    def admin_case_page(self):
        if not self.cases_seen:
            self.admin_case_list()
        case = random.choice(self.cases_seen)
        self.client.get(f"/admin/tracker/case/{case}/change/", name="admin case page")

    @task(1)
    def approve(self):
        case = next(CASES_IN_REVIEW, None)
        if case is None:
            return
        self.client.get(f"/admin/tracker/case/{case}/change/", name="admin case page")
        self.submit(
            f"/admin/tracker/case/{case}/transition/approve/",
            "approve in admin",
            {
                "comment": "Imagery and two reports agree.",
                "justification": "The reports are independent of each other.",
            },
        )


class Stakeholder(CaseReader):
    weight = 2
    role = "stakeholder"
    # Stakeholders see approved cases only.
    states = ["approved"]

    @task(1)
    def export_csv(self):
        # One year of one transfer route: what a stakeholder takes into a spreadsheet.
        year = random.randint(date.today().year - 4, date.today().year)
        with self.client.get(
            "/cases/export.csv",
            params={
                "supplier_country": "KP",
                "recipient_country": "RU",
                "incident_from": f"{year}-01-01",
                "incident_to": f"{year}-12-31",
            },
            name="case export csv",
            catch_response=True,
        ) as response:
            # After the byte order mark Excel needs.
            if not response.text.lstrip("\ufeff").startswith("reference") and response.ok:
                response.failure("not the CSV export")
