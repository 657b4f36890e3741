from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("AI use-case registry")

    def ready(self) -> None:
        post_migrate.connect(_ensure_notice_schedule, sender=self)


def _ensure_notice_schedule(sender, **kwargs) -> None:
    from registry import notices

    notices.ensure_notice_schedule()
