"""Workers on two machines share a weekly run, and every subscriber gets one digest.

Each machine is a network namespace of its own (``ip netns``), joined to the host by a
veth pair, running a Celery worker that reaches the host's Redis, PostgreSQL and SMTP
server over the veth address only, as a second machine would over its network.
PostgreSQL and Redis listen on 127.0.0.1 alone (``listen_addresses``, ``bind``), which
a namespace cannot reach: a small TCP relay in the test, bound to the host's veth
address, forwards to them (connections then arrive from 127.0.0.1, which the servers'
access rules allow). The SMTP server listens on each veth address itself, so it sees
which machine each digest came from.
"""

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from functools import partial
from urllib.parse import quote, urlsplit

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from digests.models import DigestDelivery, Subscription
from tests.conftest import free_port, this_week_end, wait_until

SUBSCRIPTIONS = 2000
NODES = 2
QUEUE = "celery"  # the workers' own default queue, where their fan-out enqueues

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the workers need Redis"),
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root (CI runs as root)"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs the `ip` command (iproute2)"),
]


def ip(*args, namespace=None):
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    subprocess.run([*prefix, "ip", *args], check=True, capture_output=True)


class Relay:
    """Forwards TCP connections from an address of the host to a port on 127.0.0.1,
    on an event loop in a thread of its own."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers = []

    def forward(self, host, target_port):
        """Listen on ``host`` (a free port); returns the port."""

        async def listen():
            return await asyncio.start_server(partial(self._relay, target_port), host, 0)

        server = asyncio.run_coroutine_threadsafe(listen(), self.loop).result(timeout=10)
        self.servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def _relay(self, target_port, reader, writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", target_port
            )
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
            return_exceptions=True,
        )

    @staticmethod
    async def _pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def close(self):
        async def stop():
            for server in self.servers:
                server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


class Received:
    """An aiosmtpd handler that keeps, for each digest, its recipients and the
    address of the machine that sent it."""

    def __init__(self):
        self.digests = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self._lock:
            self.digests.append((session.peer[0], tuple(envelope.rcpt_tos)))
        return "250 2.0.0 Message accepted for delivery"


@pytest.fixture
def machines(tmp_path):
    """Two network namespaces joined to the host by veth pairs, removed afterwards.
    Yields (namespace, host address, namespace address) for each."""
    made = []
    tag = os.getpid() % 100000
    try:
        for index in range(NODES):
            namespace = f"tracker-node{index}-{tag}"
            host_side, node_side = f"trk{tag}h{index}", f"trk{tag}n{index}"
            # A /30 each, from the process id, so two runs on one machine do not meet.
            block = 4 * (NODES * (tag % 8000) + index)
            host_address = f"10.231.{block // 256}.{block % 256 + 1}"
            node_address = f"10.231.{block // 256}.{block % 256 + 2}"
            ip("netns", "add", namespace)
            made.append([namespace, host_side, None])
            ip("link", "add", host_side, "type", "veth", "peer", "name", node_side)
            ip("link", "set", node_side, "netns", namespace)
            ip("addr", "add", f"{host_address}/30", "dev", host_side)
            ip("link", "set", host_side, "up")
            ip("addr", "add", f"{node_address}/30", "dev", node_side, namespace=namespace)
            ip("link", "set", node_side, "up", namespace=namespace)
            ip("link", "set", "lo", "up", namespace=namespace)
            made[-1][2] = (namespace, host_address, node_address)
        yield [machine for _, _, machine in made]
    finally:
        for namespace, host_side, _ in made:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
            # Deleting the namespace deletes its end of the pair, and so the pair;
            # this is for a pair made before its namespace got its end.
            subprocess.run(["ip", "link", "del", host_side], capture_output=True)


@pytest.fixture
def workers_on(machines, tmp_path):
    """Start a Celery worker in each namespace, reaching the host's services through
    the host's veth address; stopped afterwards. Yields the SMTP handler."""
    database = connection.settings_dict
    broker = urlsplit(settings.REDIS_URL)
    received = Received()
    relay = Relay()
    controllers, processes, logs = [], [], []
    try:
        for index, (namespace, host_address, _) in enumerate(machines):
            postgres_port = relay.forward(host_address, int(database["PORT"] or 5432))
            redis_port = relay.forward(host_address, broker.port or 6379)
            smtp = Controller(received, hostname=host_address, port=free_port())
            smtp.start()
            controllers.append(smtp)
            password = f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else ""
            redis_url = f"redis://{host_address}:{redis_port}{broker.path or '/0'}"
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DEBUG": "0",
                "SECRET_KEY": settings.SECRET_KEY,
                "SITE_URL": settings.SITE_URL,
                "DATABASE_URL": (
                    f"postgres://{quote(database['USER'])}{password}@{host_address}:"
                    f"{postgres_port}/{database['NAME']}"
                ),
                "REDIS_URL": redis_url,
                "CACHE_URL": redis_url,
                "EMAIL_HOST": host_address,
                "EMAIL_PORT": str(smtp.port),
                "EMAIL_USE_TLS": "0",
                "EMAIL_TIMEOUT": "10",
                "VAR_DIR": str(tmp_path / f"node{index}"),
                "LOG_LEVEL": "WARNING",
            }
            log = open(tmp_path / f"node{index}.log", "ab")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        namespace,
                        sys.executable,
                        "-m",
                        "celery",
                        "--app",
                        "config",
                        "worker",
                        "--pool",
                        "prefork",
                        "--concurrency",
                        "1",
                        "--hostname",
                        f"node{index}-{os.getpid()}@%h",
                        "--queues",
                        QUEUE,
                        "--without-mingle",
                        "--without-gossip",
                        "--loglevel",
                        "warning",
                    ],
                    cwd=settings.BASE_DIR,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            )
        names = {f"node{index}-{os.getpid()}" for index in range(NODES)}

        def both_answer():
            answered = celery_app.control.ping(timeout=1)
            return {name.split("@")[0] for reply in answered for name in reply} >= names

        wait_until(both_answer, timeout=90, what="both machines' workers to answer")
        yield received
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
        for log in logs:
            log.close()
        for smtp in controllers:
            smtp.stop()
        relay.close()
        for index in range(len(processes)):
            path = tmp_path / f"node{index}.log"
            if path.exists() and path.stat().st_size:
                sys.stderr.write(f"--- worker of machine {index} ---\n{path.read_text()}\n")


@pytest.fixture
def run_queue_empty():
    """The workers' queue and the digests' shared renderings, as no earlier run left
    them."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(QUEUE)
    for key in client.scan_iter(match="*digest:*"):
        client.delete(key)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_on_two_machines_send_each_subscriber_one_digest(
    run_queue_empty, machines, workers_on, case_factory, reviewer
):
    case_factory("approved", by_reviewer=reviewer)
    Subscription.objects.bulk_create(
        Subscription(
            email=f"subscriber{n}@example.org",
            # Three filter sets: three renderings for the whole run.
            countries=[["UA"], ["RU"], []][n % 3],
        )
        for n in range(SUBSCRIPTIONS)
    )

    celery_app.send_task(
        "digests.tasks.send_digests", args=[this_week_end().isoformat()], queue=QUEUE
    )

    def all_sent():
        return (
            DigestDelivery.objects.filter(period_end=this_week_end(), status="sent").count()
            == SUBSCRIPTIONS
        )

    wait_until(all_sent, timeout=300, what=f"{SUBSCRIPTIONS} digests sent")
    time.sleep(1)  # a duplicate would arrive after its row says sent
    received = workers_on.digests
    per_address = Counter(address for _, recipients in received for address in recipients)
    assert len(per_address) == SUBSCRIPTIONS
    assert set(per_address.values()) == {1}, "every subscriber got exactly one digest"
    by_machine = Counter(machine for machine, _ in received)
    assert set(by_machine) <= {node for _, _, node in machines}
    assert len(by_machine) == NODES, f"both machines delivered some: {dict(by_machine)}"
    assert not DigestDelivery.objects.exclude(attempts=1).exists()
