from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScimPortalConfig(AppConfig):
    name = "scim_portal"
    label = "scim_portal"
    verbose_name = _("SCIM provisioning")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from scim_portal import checks  # noqa: F401  (registers the system checks)
        from scim_portal.history import annotate_history, expose_historical_models

        pre_create_historical_record.connect(annotate_history, dispatch_uid="scim_portal.annotate_history")
        expose_historical_models(self)
