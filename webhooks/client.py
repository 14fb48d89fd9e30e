"""The HTTP client webhooks are delivered with, guarded against server-side request
forgery: the site must not become a way to reach the machines behind its firewall.

A webhook's URL is given by an administrator, but its host name is resolved by DNS,
which its owner controls, at send time. So the check is made where the connection is
opened, on the very addresses connected to: every address the name resolves to must
be a public one, or nothing is sent (a name that resolved to a public address when it
was registered and to 10.0.0.5 now is refused now). Private, loopback, link-local,
shared, multicast and reserved addresses are refused unless ``WEBHOOK_ALLOW_PRIVATE``
(the tests, the demo and the fault harness, whose receivers run on 127.0.0.1).
Redirects are not followed and proxies from the environment are not used: either
would connect somewhere the check did not see.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.connection import create_connection


class ForbiddenAddress(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


def refusal(address):
    """Why webhooks may not connect to ``address`` (an IP address string), or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_global and not ip.is_multicast:
        return None
    for kind in ("loopback", "link_local", "unspecified", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return f"{address} is a {kind.replace('_', '-')} address"
    return f"{address} is not a public address"


def resolve(host, port):
    """Every address ``host`` resolves to, each checked; raises ForbiddenAddress when
    any of them is one webhooks may not reach, OSError when the name does not resolve."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            reason = refusal(address)
            if reason:
                raise ForbiddenAddress(f"{host} refused: {reason}")
    return addresses


def check_url(url):
    """Raise ForbiddenAddress (or OSError, when the host does not resolve) unless
    webhooks may be sent to ``url``: the registration-time check; sending checks again."""
    parts = urlsplit(url)
    if settings.WEBHOOK_REQUIRE_HTTPS and parts.scheme != "https":
        raise ForbiddenAddress("Only https:// URLs are allowed.")
    if parts.scheme not in ("http", "https"):
        raise ForbiddenAddress("Only http:// and https:// URLs are allowed.")
    resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


class GuardedConnection:
    """Opens the socket to a checked address of the host, never to one resolved again
    later; TLS still verifies the certificate for the host's name."""

    def _new_conn(self):
        error = None
        for address in resolve(self.host, self.port):
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as failed:
                error = failed
        raise error or OSError(f"{self.host} resolves to no address")


class GuardedHTTPConnection(GuardedConnection, HTTPConnection):
    pass


class GuardedHTTPSConnection(GuardedConnection, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }


def post(url, body, headers, keep=2000):
    """POST ``body`` to ``url`` through the guard; returns the answer's status code and
    at most the first ``keep`` bytes of its body, decoded (a receiver's answer is read
    only as far as it is kept). A NUL byte in it is read as U+FFFD, as an undecodable
    one is: no database text holds one, and the answer is kept on its delivery's row."""
    if urlsplit(url).scheme != "https" and settings.WEBHOOK_REQUIRE_HTTPS:
        raise ForbiddenAddress("Only https:// URLs are allowed.")
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment
        session.mount("http://", GuardedAdapter())
        session.mount("https://", GuardedAdapter())
        with session.post(
            url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as response:
            start = response.raw.read(keep, decode_content=True) or b""
            return response.status_code, start.decode(errors="replace").replace("\x00", "\ufffd")
