from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Outgoing webhooks")

    def ready(self) -> None:
        from webhooks.signals import dispatch_soon_after_change

        post_migrate.connect(_ensure_schedule, sender=self)
        # The registry knows nothing of webhooks: they listen to its feed from here.
        post_save.connect(dispatch_soon_after_change, sender="registry.FeedEntry")


def _ensure_schedule(sender, **kwargs) -> None:
    from webhooks import services

    services.ensure_schedule()
