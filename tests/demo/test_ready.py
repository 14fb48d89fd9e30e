"""What `make demo` prints last: the address and the demo users' passwords, once the
web server answers."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from demo import passwords

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(settings, capsys):
    settings.DEBUG = True  # load_demo refuses to run without it
    call_command("load_demo")
    capsys.readouterr()
    return passwords.read()


def ready_block(capsys, *args):
    call_command("demo_ready", *args)
    return capsys.readouterr().out


# Serialized rollback: the flush after a transactional test removes the role groups
# of the data migration, which the tests after it need.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_once_the_server_answers_it_prints_the_address_and_working_passwords(
    live_server, settings, capsys, loaded
):
    settings.SITE_URL = live_server.url
    settings.REQUIRE_2FA = False
    settings.MAILERS = {
        "default": {
            "BACKEND": "mailer.backends.EmlFileBackend",
            "OPTIONS": {"file_path": settings.VAR_DIR / "mail"},
        }
    }
    monitor = get_user_model().objects.get(username="monitor")
    monitor.set_password("a new one the block cannot know")
    monitor.save()

    out = ready_block(capsys, "--timeout", "10")

    assert f"The demo is ready: {live_server.url}/\n" in out
    assert f"The admin: {live_server.url}/admin/\n" in out
    lines = out.splitlines()
    for username in ("admin", "reviewer", "reviewer2", "stakeholder"):
        (line,) = [line for line in lines if line.split()[:1] == [username]]
        assert line.split()[1] == loaded[username]
    (line,) = [line for line in lines if line.split()[:1] == ["monitor"]]
    assert loaded["monitor"] not in line
    assert "manage.py changepassword monitor" in line
    assert "No two-factor sign-in needed here" in out
    assert "Mail: one .eml file per message in " in out
    assert len(lines) <= 14  # one short block
    # Fits an 80-column terminal behind honcho's prefix (the mail folder here is the
    # test's, in /tmp; the demo's is var/mail).
    assert max(len(line) for line in lines if "Mail:" not in line) <= 60


def test_a_server_that_does_not_answer_is_reported(settings, capsys, loaded):
    settings.SITE_URL = "http://127.0.0.1:9"  # the discard port: nothing listens
    out = ready_block(capsys, "--timeout", "0")
    assert "did not answer in 0 s" in out
    assert loaded["stakeholder"] in out


def test_the_passwords_file_is_for_its_owner_only(loaded):
    assert passwords.passwords_file().stat().st_mode & 0o077 == 0
    assert set(loaded) == {"admin", "monitor", "reviewer", "reviewer2", "stakeholder"}
