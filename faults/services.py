"""The real processes a fault scenario runs and breaks: its own PostgreSQL cluster,
Redis server, SMTP server, webhook receiver and Celery workers, never the machine's
shared ones."""

import asyncio
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


class Postgres:
    """A throw-away cluster in a temporary folder, run as the postgres user when the
    harness runs as root (initdb refuses root), trusting local connections."""

    def __init__(self, workdir):
        self.dir = Path(workdir) / "pg"
        self.port = free_port()
        self.dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.sudo = ["runuser", "-u", "postgres", "--"]
        else:
            self.sudo = []
        self._run(PG_BIN / "initdb", "-D", self.dir / "data", "-U", "postgres", "-A", "trust")
        self.start()

    def _run(self, *args):
        subprocess.run([*self.sudo, *map(str, args)], check=True, capture_output=True)

    def _ctl(self, *args):
        self._run(PG_BIN / "pg_ctl", "-D", self.dir / "data", "-l", self.dir / "log", "-w", *args)

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "start")

    def restart(self, down_for):
        """Stop at once (clients are cut off mid-transaction), stay down, start again."""
        self._ctl("-m", "immediate", "stop")
        time.sleep(down_for)
        self.start()

    def stop(self):
        self._ctl("-m", "immediate", "stop")

    def url(self, database):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql, database="postgres", params=None):
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else None


class Redis:
    """A redis-server of the harness's own; ``appendonly`` decides whether what it was
    given survives a SIGKILL."""

    def __init__(self, workdir, appendonly, appendfsync="everysec"):
        self.dir = tempfile.mkdtemp(prefix="redis-", dir=workdir)
        self.port = free_port()
        self.args = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", self.dir, "--save", "",
            "--appendonly", "yes" if appendonly else "no", "--appendfsync", appendfsync,
        ]  # fmt: skip
        self.start()

    def start(self):
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL)
        wait_until(self.answers, 10, "Redis")

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill_and_restart(self, down_for):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        time.sleep(down_for)
        self.start()

    def stop(self):
        self.process.kill()
        self.process.wait()

    def url(self, db):
        return f"redis://127.0.0.1:{self.port}/{db}"


class Mailbox:
    """An SMTP server that keeps what it accepts. ``reply`` (e.g. "451 4.3.0 Try
    later") answers every message instead while it is set; ``down()`` and ``up()``
    stop and start it on the same port. ``latency`` stands for a real server's time."""

    def __init__(self, latency=0.0):
        self.port = free_port()
        self.latency = latency
        self.reply = None
        self.received = []  # (recipient, Message-ID)
        self.messages = []  # (Message-ID, Subject), one per message accepted
        self.refused = 0
        self._lock = threading.Lock()
        self.controller = None
        self.up()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.latency)
        with self._lock:
            if self.reply:
                self.refused += 1
                return self.reply
            message = message_from_bytes(envelope.content, policy=policy.default)
            for recipient in envelope.rcpt_tos:
                self.received.append((recipient, message["Message-ID"]))
            self.messages.append((message["Message-ID"], str(message["Subject"])))
        return "250 2.0.0 Accepted"

    def up(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self):
        self.controller.stop()


class Workers:
    """Celery workers in prefork mode, as in production, pointed at the harness's
    services. ``kill_child()`` SIGKILLs one pool process at random."""

    def __init__(self, env, log, count=1, concurrency=4):
        self.log = open(log, "ab")
        self.processes = [
            subprocess.Popen(
                [
                    VENV_BIN / "celery",
                    "--app",
                    "config",
                    "worker",
                    "--pool",
                    "prefork",
                    "--concurrency",
                    str(concurrency),
                    "--loglevel",
                    "warning",
                    "--hostname",
                    f"faults{index}-{os.getpid()}@%h",
                    "--without-mingle",
                    "--without-gossip",
                ],
                cwd=ROOT,
                env=env,
                stdout=self.log,
                stderr=self.log,
                start_new_session=True,
            )  # fmt: skip
            for index in range(count)
        ]

    def children(self):
        pids = []
        for process in self.processes:
            found = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True)
            pids += [int(pid) for pid in found.stdout.split()]
        return pids

    def kill_child(self):
        children = self.children()
        if not children:
            return False
        try:
            os.kill(random.choice(children), signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.log.close()


class Web:
    """gunicorn serving the application with production settings, as the README
    deploys it, behind a TLS proxy the client simulates (``X-Forwarded-Proto``)."""

    def __init__(self, env, log, workers=2):
        self.port = free_port()
        self.log = open(log, "ab")
        self.env = {**env, "ALLOWED_HOSTS": "127.0.0.1"}
        self.process = subprocess.Popen(
            [VENV_BIN / "gunicorn", "config.wsgi", "--workers", str(workers),
             "--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
        )  # fmt: skip
        wait_until(self.answers, 30, "gunicorn")

    def answers(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped with {self.process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


class Receiver:
    """A partner's webhook endpoint: a threaded HTTP server that checks each
    delivery's signature on its own (with the secret, as README shows, not with the
    code under test) and keeps what it took. ``status`` is what it answers (a 5xx is a
    refusal: not taken); ``stall`` keeps each request that long before answering (it
    is taken on arrival, as a slow partner stores it and then answers too late);
    ``latency`` stands for a real endpoint's time."""

    def __init__(self, secret):
        self.secret = secret.encode()
        self.status = 200
        self.stall = 0.0
        self.latency = 0.0
        self.taken = []  # (case reference, Tracker-Delivery), one per request taken
        self.refused = 0
        self.stalled = 0
        self.forged = 0  # signature missing or wrong
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.take(self.headers, body, self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hooks/tracker"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def signed(self, value, body):
        try:
            fields = dict(part.split("=", 1) for part in (value or "").split(","))
            signed = fields["t"].encode() + b"." + body
        except (KeyError, ValueError):
            return False
        expected = hmac.new(self.secret, signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, fields.get("v1", ""))

    def take(self, headers, body, handler):
        status, stall = self.status, self.stall
        with self._lock:
            self.requests += 1
            if not self.signed(headers["Tracker-Signature"], body):
                self.forged += 1
                status = 400
            elif status >= 300:
                self.refused += 1
            else:
                reference = json.loads(body)["case"]["reference"]
                self.taken.append((reference, headers["Tracker-Delivery"]))
                self.stalled += bool(stall)
        time.sleep(stall or self.latency)
        try:
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        except OSError:  # the tracker stopped waiting
            pass

    def down(self):
        self.server.shutdown()
        self.server.server_close()
