from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScimPortalConfig(AppConfig):
    name = "scim_portal"
    label = "scim_portal"
    verbose_name = _("SCIM provisioning")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save
        from simple_history.signals import pre_create_historical_record

        from scim_portal import checks  # noqa: F401  (registers the system checks)
        from scim_portal.federation import touch_scim_identity
        from scim_portal.history import annotate_history, expose_historical_models, record_membership
        from scim_portal.signals import group_membership_changed

        pre_create_historical_record.connect(annotate_history, dispatch_uid="scim_portal.annotate_history")
        group_membership_changed.connect(record_membership, dispatch_uid="scim_portal.record_membership")
        # Mapped fields changed outside SCIM move the SCIM version (RFC 7643 3.1 meta.version).
        post_save.connect(touch_scim_identity, sender=get_user_model(), dispatch_uid="scim_portal.touch_identity")
        expose_historical_models(self)
