from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Sign-in and sessions"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .middleware import start_activity

        user_logged_in.connect(start_activity)
