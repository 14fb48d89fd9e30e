"""A real HTTP server for the webhooks to reach: it checks each delivery's signature
with the README's own verification example and keeps what it received."""

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import wait_until
from webhooks.models import Endpoint, Event

SECRET = "a-partner-s-shared-secret-0123456789"
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier():
    """``verify_tracker_signature`` exactly as README's "Webhooks" section shows it."""
    [code] = [
        block
        for block in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
        if "def verify_tracker_signature" in block
    ]
    namespace = {}
    exec(code, namespace)
    return namespace["verify_tracker_signature"]


@dataclass
class Received:
    headers: dict
    body: bytes
    signed: bool  # the signature checked out with SECRET

    @property
    def payload(self):
        return json.loads(self.body)

    @property
    def delivery_id(self):
        return self.headers["Tracker-Delivery"]


class Receiver:
    """``answer(status, times)`` answers the next deliveries with ``status`` (200
    otherwise), and ``answer(status, body=...)`` with that body; ``stall(seconds,
    times)`` keeps them waiting that long first."""

    def __init__(self):
        self.received = []
        self._answers = []
        self._stalls = []
        self._lock = threading.Lock()
        self.verify = readme_verifier()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    stall = receiver._stalls.pop(0) if receiver._stalls else 0
                    status, answer = receiver._answers.pop(0) if receiver._answers else (200, None)
                    receiver.received.append(
                        Received(
                            dict(self.headers),
                            body,
                            receiver.verify(SECRET, self.headers["Tracker-Signature"], body),
                        )
                    )
                time.sleep(stall)
                answer = answer or json.dumps({"status": status}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/tracker"

    def answer(self, status, times=1, body=None):
        self._answers.extend([(status, body)] * times)

    def stall(self, seconds, times=1):
        self._stalls.extend([seconds] * times)

    def wait_for(self, count, timeout=20):
        wait_until(lambda: len(self.received) >= count, timeout, f"{count} webhook(s)")
        return list(self.received)


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def endpoint(db, receiver):
    """A partner's endpoint on the receiver, for every event."""
    return Endpoint.objects.create(
        name="Partner dashboard", url=receiver.url, secret=SECRET, events=list(Event.values)
    )
