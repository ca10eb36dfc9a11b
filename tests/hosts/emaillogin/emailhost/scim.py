"""The host's adapter: it fills the required employee number no IdP sends."""

from __future__ import annotations

import uuid
from typing import Any

from scim_portal.adapter import ScimAdapter


class EmailHostAdapter(ScimAdapter):
    filled_user_fields = ("employee_number",)

    def new_user(self, integration: Any, values: dict[str, Any]) -> Any:
        values.setdefault("employee_number", f"S-{uuid.uuid4().hex[:12]}")
        return super().new_user(integration, values)
