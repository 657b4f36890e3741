from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = _("Federation sync")

    def ready(self) -> None:
        post_migrate.connect(_ensure_schedule, sender=self)


def _ensure_schedule(sender, **kwargs) -> None:
    from sync import schedule

    schedule.ensure_schedule()
