from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("AI use-case registry")

    def ready(self) -> None:
        post_migrate.connect(_ensure_notice_schedule, sender=self)
        connection_created.connect(_register_search_functions)


def _register_search_functions(sender, connection, **kwargs) -> None:
    # SQLite's full-text triggers call Python's fold (registry.search, migration 0011).
    if connection.vendor == "sqlite":
        from registry import search

        search.register_sqlite_functions(connection)


def _ensure_notice_schedule(sender, **kwargs) -> None:
    from registry import notices

    notices.ensure_notice_schedule()
