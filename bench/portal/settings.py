"""The example portal as the benchmark runs it: its own settings, production switches on.

``DATABASE_URL`` points at the benchmark's database; the query counter is
added in front of the portal's middleware. Nothing else changes.
"""

from __future__ import annotations

import os

from portal_site.settings import *  # noqa: F403
from portal_site.settings import MIDDLEWARE

DEBUG = False
MIDDLEWARE = ["bench.querycount.QueryCountMiddleware", *MIDDLEWARE]

# The phases deactivate hundreds of users in seconds: a burst the deprovisioning brake
# would hold (docs/guard-rails.md). At 100% it counts every request (its cost is measured,
# the active-user count included past 50) but never trips.
SCIM_PORTAL = {**SCIM_PORTAL, "BRAKE_MAX_PERCENT": 100}  # noqa: F405

# ``bench/concurrency.py --no-trail``: what the history rows and the write log cost, measured
# by leaving them out (never a deployment setting: the trail is what makes changes traceable).
if os.environ.get("BENCH_TRAIL") == "off":
    SIMPLE_HISTORY_ENABLED = False
    SCIM_PORTAL = {**SCIM_PORTAL, "LOG_REQUESTS": False}
