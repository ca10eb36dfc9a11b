"""Keep OAuth secrets out of logs.

At DEBUG level oauthlib logs issued access and refresh tokens and
authorization codes, and django-oauth-toolkit logs the redirect URL carrying
the code.  While one of scim_portal's OAuth endpoints handles a request, a
filter on those libraries' loggers drops their DEBUG records; everything at
INFO and above, and their logging outside our endpoints, is left untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

LIBRARIES = ("oauthlib", "oauth2_provider")

_inside_endpoint: ContextVar[bool] = ContextVar("scim_portal_oauth_endpoint", default=False)


class DropDebugInsideEndpoints(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_inside_endpoint.get() and record.levelno <= logging.DEBUG)


_FILTER = DropDebugInsideEndpoints()


def install() -> None:
    """Attach the filter to every logger of the libraries (a logger's filters do not reach its children)."""
    names = [name for name in list(logging.Logger.manager.loggerDict) if name.split(".")[0] in LIBRARIES]
    for name in {*LIBRARIES, *names}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


@contextmanager
def quiet() -> Iterator[None]:
    """Mark the current request as handled by one of our OAuth endpoints."""
    token = _inside_endpoint.set(True)
    try:
        yield
    finally:
        _inside_endpoint.reset(token)
