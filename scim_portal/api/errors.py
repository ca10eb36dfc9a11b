"""Turns every failure into a SCIM error response (RFC 7644 section 3.12).

IdPs parse error bodies as JSON: Okta shows a confusing parse error for
plain text or HTML, so even unexpected exceptions get a SCIM body.

Database trouble (a lost connection, a lock or statement timeout, a
serialization failure or deadlock, SQLite's "database is locked") is a 503
with ``Retry-After``: Okta and Entra ID retry those, and the request changed
nothing because every write runs in one transaction.
"""

from __future__ import annotations

import json
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf
from rest_framework.response import Response

from scim_portal import exceptions as scim

logger = logging.getLogger("scim_portal.api")

#: Seconds an IdP is asked to wait after a 503 caused by the database.
DATABASE_RETRY_AFTER = 5


class InternalError(scim.ScimError):
    status = 500


def unavailable(what: str, exc: Exception) -> scim.ServiceUnavailable:
    """A 503 with ``Retry-After`` for a backing service that is down or busy (the IdP retries;
    every write runs in one transaction, so nothing was changed)."""
    logger.warning("%s unavailable while handling a SCIM request: %s", what, exc)
    return scim.ServiceUnavailable(
        _("%(what)s is unavailable or busy; nothing was changed. Retry after %(seconds)d seconds.")
        % {"what": what, "seconds": DATABASE_RETRY_AFTER},
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


#: Errors of cache clients (the rate limit's Redis or Memcached) that mean "not reachable now".
BACKEND_UNAVAILABLE = {"ConnectionError", "TimeoutError", "BusyLoadingError"}


def backend_unavailable(exc: Exception) -> bool:
    """A cache server the request needs is down or slow: a builtin socket error, or the
    connection/timeout error of a client library (redis-py's do not subclass the builtins)."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return any(cls.__name__ in BACKEND_UNAVAILABLE and cls.__module__.split(".")[0] in ("redis", "pymemcache")
               for cls in type(exc).__mro__)


def as_scim_error(exc: Exception) -> scim.ScimError:
    if isinstance(exc, scim.ScimError):
        return exc
    if isinstance(exc, (OperationalError, InterfaceError)):
        return unavailable(_("The database"), exc)
    if backend_unavailable(exc):
        return unavailable(_("A backing service"), exc)
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return scim.Unauthorized(
            _("Authentication required: send Authorization: Bearer <token>."),
            headers={"WWW-Authenticate": 'Bearer realm="SCIM"'},
        )
    if isinstance(exc, (drf.PermissionDenied, DjangoPermissionDenied)):
        return scim.Forbidden(str(getattr(exc, "detail", exc)))
    if isinstance(exc, drf.ParseError):
        return scim.InvalidSyntax(_("The request body is not valid JSON: %s") % exc.detail)
    if isinstance(exc, drf.MethodNotAllowed):
        return scim.MethodNotAllowed(str(exc.detail))
    if isinstance(exc, drf.UnsupportedMediaType):
        return scim.UnsupportedMediaType(str(exc.detail))
    if isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1)
        return scim.TooManyRequests(
            _("Too many requests; retry after %d seconds.") % wait,
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, (Http404, drf.NotFound)):
        return scim.NotFound(_("Resource not found."))
    if isinstance(exc, drf.APIException):
        error = scim.BadRequest(str(exc.detail))
        return error
    logger.error("Unexpected error while handling a SCIM request", exc_info=exc)
    return InternalError(_("The server could not process the request; it has been logged."))


def error_response(error: scim.ScimError) -> Response:
    response = Response(error.to_dict(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def scim_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF exception handler for SCIM views (set per view, never globally)."""
    return error_response(as_scim_error(exc))


def plain_error_response(error: scim.ScimError) -> HttpResponse:
    """The SCIM error as a finished Django response, for failures outside DRF's handling
    (the response could not be rendered or logged): it depends on nothing that could fail again."""
    body = json.dumps(error.to_dict(), ensure_ascii=True).encode("ascii")
    response = HttpResponse(body, status=error.status, content_type="application/scim+json; charset=utf-8")
    for name, value in error.headers.items():
        response[name] = value
    return response
