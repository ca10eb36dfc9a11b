"""How the example portal plugs into scim_portal."""

from __future__ import annotations

from typing import Any

from scim_portal.adapter import ScimAdapter


class PortalScimAdapter(ScimAdapter):
    """Users provisioned by an IdP get the default licence, when one named "Standard" exists."""

    def new_user(self, integration, values: dict[str, Any]):
        from portal.models import Licence

        user = super().new_user(integration, values)
        user.licence = Licence.objects.filter(name="Standard").first()
        return user
