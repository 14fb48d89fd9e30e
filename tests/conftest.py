import socket
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from tests import factories
from tracker import workflow


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def monitor(db):
    return factories.monitor()


@pytest.fixture
def other_monitor(db):
    return factories.monitor("monitor2")


@pytest.fixture
def reviewer(db):
    return factories.reviewer()


@pytest.fixture
def other_reviewer(db):
    return factories.reviewer("reviewer2")


@pytest.fixture
def stakeholder(db):
    return factories.stakeholder()


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.org", "pw")


@pytest.fixture
def case_factory(db, monitor):
    """Make a case by ``monitor``, moved through the workflow into ``state``."""

    def make(state="draft", created_by=None, by_reviewer=None, **fields):
        creator = created_by or monitor
        case = factories.CaseFactory(created_by=creator, **fields)
        if state == "draft":
            return case
        # A case goes to review with evidence (SUBMIT_MIN_EVIDENCE): here context from
        # an ungraded source, which counts for neither side.
        factories.context_for(case)
        workflow.submit(case, creator)
        if state == "submitted":
            return case
        the_reviewer = by_reviewer or factories.reviewer("reviewer-of-record")
        if state == "withdrawn":
            workflow.withdraw(case, creator)
            return case
        workflow.start_review(case, the_reviewer)
        if state == "changes_requested":
            workflow.request_changes(case, the_reviewer, "Needs a second source.")
        elif state == "approved":
            factories.corroborate(case)
            workflow.approve(case, the_reviewer)
        elif state == "rejected":
            workflow.reject(case, the_reviewer, "The claim is not substantiated.")
        return case

    return make


@pytest.fixture(autouse=True)
def evidence_root(settings, tmp_path):
    settings.EVIDENCE_ROOT = tmp_path / "evidence"
    return settings.EVIDENCE_ROOT


@pytest.fixture(autouse=True)
def import_root(settings, tmp_path):
    # Files uploaded for import wait here for their preview and confirmation.
    settings.IMPORT_ROOT = tmp_path / "imports"
    return settings.IMPORT_ROOT


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    # What is read from VAR_DIR while running (the demo's passwords file, written by
    # load_demo) stays out of the checkout's own var/ and a demo running there.
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The session's worker consumes WORKER_QUEUE only. Tests that do not ask for the worker
# enqueue onto UNCONSUMED_QUEUE, so the worker never runs their tasks late, during a
# later test (a task's transaction once deadlocked with that test's TRUNCATE).
WORKER_QUEUE = "tracker-tests"
UNCONSUMED_QUEUE = "tracker-tests-unconsumed"


@pytest.fixture(autouse=True)
def tasks_wait_unless_the_worker_is_asked_for():
    celery_app.conf.task_default_queue = UNCONSUMED_QUEUE
    yield
    celery_app.conf.task_default_queue = WORKER_QUEUE


@pytest.fixture(scope="session", autouse=True)
def celery_test_queue(tmp_path_factory):
    """Keep the tests' tasks away from a running demo or deployment: their own queue
    on Redis, their own folder with the filesystem broker."""
    celery_app.conf.task_default_queue = WORKER_QUEUE
    if not django_settings.REDIS_URL:
        folder = str(tmp_path_factory.mktemp("broker"))
        celery_app.conf.broker_transport_options = {
            "data_folder_in": folder,
            "data_folder_out": folder,
            "control_folder": folder,
            "store_processed": False,
            # The worker checks the folder this often, and takes as long to stop.
            "polling_interval": 0.1,
        }


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts. ``refuse(reply, times, to)``
    makes it answer the next messages (to that address) with an SMTP error instead,
    e.g. "451 4.7.1 Try again later" or "550 5.1.1 No such mailbox"."""

    def __init__(self):
        self.messages = []
        self.refusals = 0
        self._replies = []
        self._lock = threading.Lock()

    def refuse(self, reply, times=1, to=None):
        self._replies.extend([(to, reply)] * times)

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            for refusal in self._replies:
                to, reply = refusal
                if to is None or to in envelope.rcpt_tos:
                    self._replies.remove(refusal)
                    self.refusals += 1
                    return reply
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 Message accepted for delivery"

    def to(self, address):
        """The messages that went to ``address`` (as To or Cc)."""
        return [
            message
            for message in self.messages
            if address in {a.addr_spec for a in (*message["To"].addresses, *cc(message))}
        ]

    def wait_for(self, count, to=None, subject="", timeout=20):
        """Wait until ``count`` messages arrived (to ``to``, with ``subject`` in their
        subject, if given); return those."""

        def arrived():
            messages = self.to(to) if to else list(self.messages)
            return [message for message in messages if subject in message["Subject"]]

        wait_until(lambda: len(arrived()) >= count, timeout, f"{count} message(s) {subject!r}")
        return arrived()


def cc(message):
    return message["Cc"].addresses if message["Cc"] else ()


def case_table_plan(sql):
    """PostgreSQL's plan for ``sql`` once the case table is vacuumed (its rows marked
    visible to all, as autovacuum leaves a large table, so an index-only scan costs
    what it does there) and neither read whole nor through a bitmap: which index could
    serve it, not what a near-empty table happens to favour. Needs a test that commits
    (``django_db(transaction=True)``): VACUUM cannot run in a transaction."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tracker_case")
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_bitmapscan = off")
        try:
            cursor.execute("EXPLAIN " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_bitmapscan")


def wait_until(condition, timeout=20, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def this_week_end():
    """The end of the digest week that holds today.

    Read when a test runs, not when its module is imported: a run that crosses midnight
    would otherwise look for today's cases in yesterday's week."""
    return timezone.localdate() + timedelta(days=1)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox(settings):
    """A real SMTP server on localhost that the tracker's mail goes to."""
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": "127.0.0.1",
                "port": controller.port,
                "use_tls": False,
                "timeout": 10,
            },
        }
    }
    yield handler
    controller.stop()


@pytest.fixture(scope="session")
def celery_worker_thread(django_db_setup, django_db_blocker):
    """One real Celery worker for the session (starting takes 0.1 s, stopping 4 s),
    in a thread, consuming the tests' queue on the configured broker."""
    with ExitStack() as stack:
        # Starting runs Django's system checks, which query the database.
        with django_db_blocker.unblock():
            # Tasks an earlier, interrupted run left behind.
            with celery_app.connection_for_write() as broker:
                for queue in (WORKER_QUEUE, UNCONSUMED_QUEUE):
                    broker.default_channel.queue_purge(queue)
            worker = stack.enter_context(
                start_worker(
                    celery_app,
                    queues=[WORKER_QUEUE],
                    pool="solo",
                    concurrency=1,
                    perform_ping_check=False,
                    loglevel="WARNING",
                    shutdown_timeout=30,
                )
            )
        yield worker


@pytest.fixture
def celery_worker(celery_worker_thread, mailbox):
    """The worker, sending to this test's mailbox: Redis in CI, the filesystem broker
    otherwise. Tests using it need ``django_db(transaction=True)``: the worker runs on
    its own database connection and sees only what the test committed."""
    celery_app.conf.task_default_queue = WORKER_QUEUE
    return celery_worker_thread


@pytest.fixture(autouse=True)
def empty_cache(settings):
    # Digest state counts are cached for minutes; each test starts from its own data,
    # in a cache of the process's own (clearing Redis would empty the task queue).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def scratch_database(django_db_blocker):
    """Make a new, empty PostgreSQL database next to the test database; dropped after
    the test. ``scratch_database("restored")`` returns its DATABASE_URL."""
    made = []

    def make(suffix):
        test_database = connection.settings_dict
        name = f"{test_database['NAME']}_{suffix}"
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        password = f":{quote(test_database['PASSWORD'])}" if test_database["PASSWORD"] else ""
        return (
            f"postgres://{quote(test_database['USER'])}{password}@{test_database['HOST']}"
            f":{test_database['PORT'] or 5432}/{name}"
        )

    yield make
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for name in made:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
