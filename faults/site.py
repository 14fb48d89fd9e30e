"""The site as a script sees it over HTTP: signs in, reads pages, posts forms and
files, as a browser behind the production TLS proxy would (``X-Forwarded-Proto:
https``; the secure cookies are kept by hand, since the connection itself is plain)."""

import http.client
import re
import secrets
from urllib.parse import urlencode

PROXY = {"X-Forwarded-Proto": "https"}


class Site:
    def __init__(self, port):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        """Returns (status, headers, text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=self.headers(path, headers))
            response = connection.getresponse()
            self.keep_cookies(response)
            return response.status, response.headers, response.read().decode(errors="replace")
        finally:
            connection.close()

    def headers(self, path, extra=None):
        headers = {**PROXY, "Origin": self.origin, "Referer": self.origin + path}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**headers, **(extra or {})}

    def keep_cookies(self, response):
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def csrf_token(self, path):
        status, _, page = self.request("GET", path)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not found:
            raise RuntimeError(f"GET {path} answered {status} with no form")
        return found.group(1)

    def sign_in(self, username, password):
        token = self.csrf_token("/login/")
        form = {"csrfmiddlewaretoken": token, "username": username, "password": password}
        status, headers, _ = self.post(
            "/login/", urlencode(form), "application/x-www-form-urlencoded"
        )
        if status != 302:
            raise RuntimeError(f"signing in as {username} answered {status}")

    def post(self, path, body, content_type):
        return self.request("POST", path, body, {"Content-Type": content_type})

    def upload_form(self, path, fields, filename, content):
        """The multipart body of ``path``'s form with ``content`` as its file:
        (body, content type)."""
        boundary = secrets.token_hex(16)
        fields = {"csrfmiddlewaretoken": self.csrf_token(path), **fields}
        parts = [
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return b"".join(parts), f"multipart/form-data; boundary={boundary}"

    def cut_off(self, path, body, content_type, sent):
        """POST ``body``, announced whole, but send only its first ``sent`` bytes and
        drop the connection: an upload cut off half-way."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.putrequest("POST", path)
        headers = self.headers(path, {"Content-Type": content_type, "Content-Length": len(body)})
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        connection.send(body[:sent])
        connection.sock.shutdown(2)
        connection.close()
