from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo import passwords as demo_passwords
from demo.loader import load_demo


class Command(BaseCommand):
    help = "Load the seed article's incidents, reference data and one demo user per role."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "load_demo creates users with known roles and refuses to run with DEBUG off."
            )
        passwords = load_demo()
        demo_passwords.remember(passwords)
        if passwords:
            self.stdout.write(
                "Demo users created, with these passwords (`make demo` shows them again "
                "once the server is up, while they are unchanged):"
            )
            for username, password in passwords.items():
                self.stdout.write(f"  {username:<12} {password}")
        else:
            self.stdout.write(
                "The demo is already loaded; passwords are unchanged "
                "(reset one with: manage.py changepassword USERNAME)."
            )
        if not settings.REQUIRE_2FA:
            self.stdout.write(
                "Two-factor sign-in is not required here (REQUIRE_2FA is off), so the "
                "reviewer and admin sign in with the password alone; any user may still "
                "enrol under Account."
            )
