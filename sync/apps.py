from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = _("Federation sync")

    def ready(self) -> None:
        from sync.signals import push_soon_after_own_change

        post_migrate.connect(_ensure_schedule, sender=self)
        post_save.connect(push_soon_after_own_change, sender="registry.FeedEntry")


def _ensure_schedule(sender, **kwargs) -> None:
    from sync import schedule

    schedule.ensure_schedule()
