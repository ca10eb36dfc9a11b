"""A django-scim2 host moving to scim_portal: ``pytest --ds tests.djscim2_host.settings tests/djscim2_host``.

The example portal's test settings with the portal app replaced by a user and a group
model built on django-scim2's mixins, and django-scim2 still installed, as on the day a
portal switches.
"""

from __future__ import annotations

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "portal"] + [
    "django_scim", "tests.djscim2_host.apps.DjangoScim2HostConfig",
]
AUTH_USER_MODEL = "djscim2_host.User"
SCIM_PORTAL_GROUP_MODEL = "djscim2_host.Group"
SCIM_PORTAL = {"USER_GROUPS_FIELD": "scim_groups"}
SCIM_SERVICE_PROVIDER = {
    "NETLOC": "localhost",
    "AUTHENTICATION_SCHEMES": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
                                "description": "Authentication scheme using the OAuth Bearer Token Standard"}],
    "GROUP_MODEL": "tests.djscim2_host.models.Group",
}
ROOT_URLCONF = "tests.djscim2_host.urls"
