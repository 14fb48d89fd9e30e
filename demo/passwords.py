"""The demo users' passwords, kept under VAR_DIR so that the demo can show them each
time it starts (``demo_ready``), not only in the output of its first load.

A demo only (``load_demo`` refuses to run without DEBUG): the file is readable by its
owner alone and goes with ``make clean``. A password changed since (``manage.py
changepassword``) no longer matches, and is then not shown.
"""

import json
import os

from django.conf import settings
from django.contrib.auth import get_user_model


def passwords_file():
    return settings.VAR_DIR / "demo-passwords.json"


def remember(passwords):
    """Add ``passwords`` ({username: password}) to the file."""
    if not passwords:
        return
    path = passwords_file()
    known = {**read(), **passwords}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(known, file, indent=1)


def read():
    try:
        return json.loads(passwords_file().read_text())
    except FileNotFoundError:
        return {}


def current(usernames):
    """{username: password, or None when it is not known or no longer works}."""
    known = read()
    users = get_user_model().objects.in_bulk(usernames, field_name="username")
    return {
        name: known[name]
        if name in known and name in users and users[name].check_password(known[name])
        else None
        for name in usernames
    }
