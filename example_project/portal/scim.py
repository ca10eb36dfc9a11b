"""How the example portal plugs into scim_portal: licences as grants, sessions ended on deactivation."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.models import Session
from django.db.models import Count
from django.utils import timezone

from scim_portal.adapter import ScimAdapter


class PortalScimAdapter(ScimAdapter):
    def grant_choices(self, integration) -> list[tuple[str, str]]:
        from portal.models import Licence

        return [(name, name) for name in Licence.objects.values_list("name", flat=True)]

    def apply_grants(self, integration, user: Any, grants: list[str]) -> None:
        """The first granted licence wins; group rules are ordered by priority."""
        from portal.models import Licence

        by_name = Licence.objects.in_bulk(grants, field_name="name") if grants else {}
        licence = next((by_name[name] for name in grants if name in by_name), None)
        if user.licence_id != (licence.pk if licence else None):
            user.licence = licence
            user.save(update_fields=["licence"])

    def end_access(self, integration, user: Any) -> None:
        """Revoke OAuth tokens (default) and delete the user's portal sessions."""
        from portal.models import UserSession

        super().end_access(integration, user)
        keys = UserSession.objects.filter(user=user).values_list("session_key", flat=True)
        Session.objects.filter(session_key__in=list(keys)).delete()
        UserSession.objects.filter(user=user).delete()

    def session_counts(self, user_ids: list[Any]) -> dict[Any, int]:
        """Live sessions per user for the access review: one indexed query, no decoding."""
        from portal.models import UserSession

        live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
        rows = UserSession.objects.filter(user_id__in=user_ids, session_key__in=live)
        return dict(rows.values("user_id").annotate(n=Count("pk")).values_list("user_id", "n"))
