"""The stock host's only model code: history for auth.User and auth.Group, as docs/tracking.md says."""

from __future__ import annotations

from scim_portal.contrib.auth_history import register_auth_history

register_auth_history(app=__package__)
