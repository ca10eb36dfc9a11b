"""The base class of every SCIM view: an explicit DRF policy, so the host's
REST_FRAMEWORK defaults (authentication, pagination, throttling, renderers)
never leak into the SCIM API."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from scim_portal import audit, signals
from scim_portal.api.authentication import ScimCredentialAuthentication
from scim_portal.api.errors import as_scim_error, plain_error_response, scim_exception_handler
from scim_portal.api.negotiation import (
    PlainJSONParser,
    ScimContentNegotiation,
    ScimJSONParser,
    ScimJSONRenderer,
)
from scim_portal.api.throttling import CredentialRateThrottle, RefusalLimit
from scim_portal.conf import app_settings
from scim_portal.context import ScimContext
from scim_portal.exceptions import Forbidden, PayloadTooLarge, TooManyRequests
from scim_portal.models.audit import log_subject
from scim_portal.models.query import unique_row
from scim_portal.provisioning import Provisioner
from scim_portal.resources import parse_scim_id

logger = logging.getLogger("scim_portal.api")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class HasScimCredential(BasePermission):
    """The request carries a SCIM credential whose scopes allow the method."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        context = request.auth
        if not isinstance(context, ScimContext):
            return False
        needed = "read" if request.method in SAFE_METHODS or view.read_only_post else "write"
        if needed not in context.scopes:
            raise Forbidden(
                _("This credential lacks the '%s' scope.") % needed,
                headers={"WWW-Authenticate": 'Bearer realm="SCIM", error="insufficient_scope"'},
            )
        return True


@dataclass
class Result:
    """What a request did, once its view knows: the resource the log row names, and the
    signals its change owes (sent by :meth:`ScimView.finish`, after the log row)."""

    resource: Any = None
    events: list[signals.Event] = field(default_factory=list)


class ScimView(APIView):
    authentication_classes = [ScimCredentialAuthentication]
    permission_classes = [HasScimCredential]
    parser_classes = [ScimJSONParser, PlainJSONParser]
    renderer_classes = [ScimJSONRenderer]
    content_negotiation_class = ScimContentNegotiation
    throttle_classes = [CredentialRateThrottle]
    versioning_class = None
    #: POST endpoints that only read (``/.search``) need the read scope only.
    read_only_post = False

    #: Set by views (:meth:`record`) once they know what the request did.
    result: Result | None = None
    #: Set once the request's signals were sent (the last resort may finish a request again).
    announced = False
    resource_type = ""
    #: Set once a request needs no (more) log row: after its row, and for 429s of the refusal limit.
    unlogged = False

    @classmethod
    def as_view(cls, **initkwargs):
        # The log row must survive a failed request, so SCIM views never run
        # inside a host's ATOMIC_REQUESTS transaction; writes open their own.
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def get_exception_handler(self):
        return scim_exception_handler

    def dispatch(self, request, *args, **kwargs):
        """DRF's dispatch, plus a last resort: whatever escapes it (rendering, logging,
        the exception handler itself) still answers a SCIM error body, never Django's HTML 500."""
        self.started = time.monotonic()
        try:
            response = super().dispatch(request, *args, **kwargs)
            if not getattr(response, "is_rendered", True):
                response.render()  # here, where a failure is still ours to answer
            return response
        except Exception as exc:  # the last resort: every failure gets a SCIM body
            return self.last_resort(request, exc, kwargs)

    def last_resort(self, request, exc: Exception, kwargs: dict[str, Any]) -> HttpResponse:
        """Answer a failure that escaped DRF's handling with a SCIM error, and log it."""
        response = plain_error_response(as_scim_error(exc))
        drf_request = getattr(self, "request", None)
        if isinstance(drf_request, Request):
            self.finish(drf_request, response, kwargs)
        else:  # DRF had not wrapped the request yet: nothing to log it with
            response["X-Request-ID"] = uuid.uuid4().hex
        return response

    def initial(self, request: Request, *args, **kwargs) -> None:
        self.check_refusals(request)
        self.check_body_size(request)
        request._request.body  # noqa: B018  (cache the raw body so the log can show it)
        super().initial(request, *args, **kwargs)

    def provisioner(self) -> Provisioner:
        """The write path of this request: its signals are sent by :meth:`finish`, after the log row."""
        return Provisioner(self.scim, base_url(self.request), reason=self.change_reason(), announce=False)

    def change_reason(self) -> str:
        """What the history of a write made by this request says: ``SCIM PATCH Users/<id>``."""
        return f"SCIM {self.request.method} {self.request.path.rsplit('/v2/', 1)[-1]}"[:100]

    def finalize_response(self, request: Request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        self.finish(request, response, kwargs)
        return response

    def record(self, resource: Any, provisioner: Provisioner | None = None) -> Any:
        """Note what the request did: ``resource`` (the one the log row names) and, for a write,
        the signals its ``provisioner`` (built with ``announce=False``) owes.  Returns ``resource``."""
        self.result = Result(resource, list(provisioner.events) if provisioner is not None else [])
        return resource

    def finish(self, request: Request, response, kwargs: dict[str, Any]) -> None:
        """Every answer's last step, in one place: its ``X-Request-ID``, its log row, then the
        signals (the change's, sent once it is committed; ``provisioning_failed`` for an error)."""
        auth = getattr(request, "_auth", None)  # never re-run authentication here
        context = auth if isinstance(auth, ScimContext) else None
        request_id = context.request_id if context else uuid.uuid4().hex
        response["X-Request-ID"] = request_id
        entry = self.log(request, response, context, request_id, kwargs)
        self.announce(response, context, entry)

    def log(self, request: Request, response, context: ScimContext | None, request_id: str,
            kwargs: dict[str, Any]) -> Any:
        """Write the request's log row and return it (``None`` when there is none); a failure
        to log (the database is down) never fails the answer."""
        try:
            if self.unlogged or self.unlogged_read(request, response, context):
                return None
            if refused_before_authentication(response, context):
                RefusalLimit.record(request)
            entry = self.write_log(request, response, context, request_id, kwargs)
            self.unlogged = True  # one row per request, even if the last resort answers later
            return entry
        except Exception:
            logger.exception("Could not log SCIM request %s", request_id)
            return None

    def announce(self, response, context: ScimContext | None, entry: Any) -> None:
        """Send the signals of the request, once: the committed change's (also when the answer
        failed afterwards: the change happened), and ``provisioning_failed`` for an error answer
        to an authenticated request.  Receivers never fail the answer (``send_robust``)."""
        if self.announced:
            return
        self.announced = True
        for event in self.result.events if self.result is not None else ():
            event.send_after_commit()
        if context is not None and response.status_code >= 400:
            error = answered_body(response)
            error = error if isinstance(error, dict) else {}
            signals.send_after_commit(
                signals.provisioning_failed, sender=type(self), integration=context.integration,
                actor=context.actor, request_id=context.request_id, status=response.status_code,
                scim_type=str(error.get("scimType") or ""), detail=str(error.get("detail") or ""),
                log_entry=entry,
            )

    def unlogged_read(self, request: Request, response, context: ScimContext | None) -> bool:
        """A successful read that ``LOG_READS = "sampled"`` (the default) leaves out of the log:
        every one but the credential's first in ``TOKEN_LAST_USED_PRECISION`` seconds.

        The IdPs read before nearly every write (Entra looks each user up before creating
        them) and poll on schedule; a row per read would make the log, and every read, cost
        more than the writes it is there to explain.  Writes and failures are always logged,
        and the sampled read keeps an IdP's "test connection" call visible in the health.
        """
        reads = request.method in SAFE_METHODS or self.read_only_post
        return (reads and response.status_code < 400 and context is not None
                and not context.first_use and app_settings.LOG_READS != "all")

    def write_log(self, request: Request, response, context: ScimContext | None, request_id: str,
                  kwargs: dict[str, Any]) -> Any:
        obj = self.result.resource if self.result is not None else None
        key = parse_scim_id(kwargs.get("scim_id") or "")
        if obj is None and context is not None and self.resource_type == "User" and key:
            # A failed change to a known user: name that user, so the log links to them.
            obj = unique_row(context.integration.scim_users.filter(scim_id=key))
        body = answered_body(response)
        text = None
        if isinstance(body, (dict, list)) and hasattr(response, "render"):
            # Rendered once, here: the log reads the JSON that is sent instead of encoding it again.
            response.render()
            text = response.content.decode("utf-8")
        error = body if response.status_code >= 400 and isinstance(body, dict) else {}
        scim_type, detail = str(error.get("scimType") or ""), str(error.get("detail") or "")
        request_body = audit.body_record(getattr(request._request, "_body", b"") or b"")
        if refused_before_authentication(response, context):
            # Anyone can send these: keep what shows why (method, path, address, reason), no bodies.
            request_body = body = text = None
            detail = f"{detail} (from {client_address(request)})".strip()
        entry = audit.write_log(
            integration=context.integration if context else None,
            credential=context.credential_label if context else "",
            dialect=context.integration.provider if context else "",
            method=request.method,
            path=audit.scrub_path(request.get_full_path())[:500],
            resource_type=self.resource_type,
            resource_id=str(getattr(obj, "scim_id", "") or kwargs.get("scim_id", ""))[:64],
            user_id=getattr(obj, "user_id", None),
            status=response.status_code,
            scim_type=scim_type[:30],
            detail=detail,
            duration_ms=int((time.monotonic() - self.started) * 1000),
            request_id=request_id,
            request_body=request_body,
            response_body=body if isinstance(body, (dict, list)) else None,
            response_text=text,
            **log_subject(obj, request_body),
        )
        return entry

    def check_refusals(self, request: Request) -> None:
        """429 before any work for an address whose refused requests reached
        ``UNAUTHENTICATED_RATE_LIMIT``; such answers are not logged (that is the point)."""
        wait = RefusalLimit.retry_after(request)
        if wait is not None:
            self.unlogged = True
            raise TooManyRequests(
                _("Too many refused requests from this address; retry after %d seconds.") % wait,
                headers={"Retry-After": str(wait)},
            )

    def check_body_size(self, request: Request) -> None:
        limit = app_settings.MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise PayloadTooLarge(_("The request body exceeds %d bytes.") % limit)

    @property
    def scim(self) -> ScimContext:
        return self.request.auth

    def body(self) -> object:
        """The parsed JSON body (any JSON value; the resource layer validates its shape)."""
        return self.request.data


def base_url(request: Request) -> str:
    """The SCIM base URL, without a trailing slash: ``BASE_URL`` when set, else this request's."""
    configured = app_settings.BASE_URL
    if configured:
        return configured.rstrip("/")
    return request.build_absolute_uri(reverse("scim_portal:root")).rstrip("/")


def answered_body(response: HttpResponse) -> Any:
    """The JSON document of an answer: the view's data, or a last-resort answer's small error document."""
    body = getattr(response, "data", None)
    if body is None and response.get("Content-Type", "").startswith("application/scim+json"):
        body = json.loads(response.content)
    return body


def refused_before_authentication(response: HttpResponse, context: ScimContext | None) -> bool:
    """A 401, or a 403 sent before any credential was accepted."""
    return context is None and response.status_code in (401, 403)


def client_address(request: Request) -> str:
    """The address the request came from, as the host's server (or its proxy middleware) set it."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:64]
