import os
import threading
import time
import tomllib
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand

from demo import passwords
from demo.loader import DATA

# Each line of the block fits an 80-column terminal behind honcho's prefix of 20.
ROLE_NAMES = {
    "Administrator": "administrator",
    "Monitor": "monitor",
    "Reviewer": "reviewer (in the admin)",
    "Stakeholder": "stakeholder",
}
RULE = "=" * 58


class Command(BaseCommand):
    help = (
        "Wait until the demo's web server answers at SITE_URL, then print its address "
        "and the demo users with their passwords: the last thing `make demo` prints."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout", type=float, default=120, help="Seconds to wait for the server."
        )
        parser.add_argument(
            "--stay",
            action="store_true",
            help="Keep running once printed: honcho stops every process when one ends.",
        )

    def handle(self, *args, timeout, stay, **options):
        url = settings.SITE_URL + "/"
        answered = wait_for(url + "login/", timeout)
        self.stdout.write(self.block(url, answered, timeout))
        self.stdout.flush()
        if stay:
            threading.Event().wait()

    def block(self, url, answered, timeout):
        with DATA.open("rb") as file:
            users = tomllib.load(file)["users"]
        known = passwords.current([user["username"] for user in users])
        width = max(len(user["username"]) for user in users)
        lines = [
            RULE,
            *(
                [f"The demo is ready: {url}", f"The admin: {url}admin/"]
                if answered
                else [f"The demo should be at {url},", f"but it did not answer in {timeout:g} s."]
            ),
            "Sign in as:",
        ]
        for user in users:
            name, role = user["username"], user["role"]
            if known[name]:
                lines.append(f"  {name:<{width}}  {known[name]:<16}  {ROLE_NAMES[role]}")
            else:
                lines.append(f"  {name:<{width}}  (manage.py changepassword {name})")
        if not settings.REQUIRE_2FA:
            lines.append("No two-factor sign-in needed here (REQUIRE_2FA=0).")
        lines += [where_mail_goes(), "Ctrl-C stops the demo.", RULE]
        return "\n".join(lines)


def where_mail_goes():
    mailer = settings.MAILERS["default"]
    options = mailer.get("OPTIONS", {})
    if "file_path" in options:
        folder = os.path.relpath(options["file_path"])
        return f"Mail: one .eml file per message in {folder}/"
    if "host" in options:
        return f"Mail goes out through the SMTP server at {options['host']}."
    return f"Mail goes to {mailer['BACKEND']}."


def wait_for(url, timeout):
    """Whether ``url`` answered within ``timeout`` seconds (any HTTP status counts)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
