"""Settings for the live-server tests that run the example portal under gunicorn as deployed
(DEBUG off, ``DATABASE_URL``), with the SCIM settings a test needs passed as JSON in
``SCIM_PORTAL_LIVE`` and an optional ``CACHES`` override in ``SCIM_PORTAL_LIVE_CACHES``."""

from __future__ import annotations

import json
import os

from portal_site.settings import *  # noqa: F403
from portal_site.settings import SCIM_PORTAL as _PORTAL_SCIM

DEBUG = False
SCIM_PORTAL = {**_PORTAL_SCIM, **json.loads(os.environ.get("SCIM_PORTAL_LIVE", "{}"))}
if os.environ.get("SCIM_PORTAL_LIVE_CACHES"):
    CACHES = json.loads(os.environ["SCIM_PORTAL_LIVE_CACHES"])
