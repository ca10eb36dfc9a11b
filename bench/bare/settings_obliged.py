"""The second floor, ``bare+auth+log``: the bare views plus what every SCIM request must do
(authenticate its bearer token against the database, write one log row), in a middleware."""

from __future__ import annotations

from bench.bare.settings import *  # noqa: F403
from bench.bare.settings import MIDDLEWARE

MIDDLEWARE = [*MIDDLEWARE, "bench.bare.bare_app.obligations.ObligationsMiddleware"]
