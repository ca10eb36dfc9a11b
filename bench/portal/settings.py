"""The example portal as the benchmark runs it: its own settings, production switches on.

``DATABASE_URL`` points at the benchmark's database; the query counter is
added in front of the portal's middleware. Nothing else changes.
"""

from __future__ import annotations

from portal_site.settings import *  # noqa: F403
from portal_site.settings import MIDDLEWARE

DEBUG = False
MIDDLEWARE = ["bench.querycount.QueryCountMiddleware", *MIDDLEWARE]
