from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate, pre_migrate

from common import lookups

from . import sqlite_index


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Cases and review"

    def ready(self):
        # Connects the receiver that turns workflow.case_moved into mail tasks.
        from . import tasks  # noqa: F401

        # Keys a user sent that no row can have match nothing, on SQLite too.
        lookups.register()

        # SQLite's search index lives outside the migrations: see tracker.sqlite_index.
        pre_migrate.connect(drop_sqlite_search_triggers, sender=self)
        post_migrate.connect(install_sqlite_search_index, sender=self)


def drop_sqlite_search_triggers(using, plan=None, **kwargs):
    if plan and connections[using].vendor == "sqlite":
        sqlite_index.drop_triggers(using)


def install_sqlite_search_index(using, **kwargs):
    if connections[using].vendor == "sqlite":
        sqlite_index.install(using)
