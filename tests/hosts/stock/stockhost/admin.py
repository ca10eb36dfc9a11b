from __future__ import annotations

from scim_portal.contrib.auth_history import register_auth_history_admin

register_auth_history_admin()
