"""The base class of every SCIM view: an explicit DRF policy, so the host's
REST_FRAMEWORK defaults (authentication, pagination, throttling, renderers)
never leak into the SCIM API."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from scim_portal.api.authentication import ScimTokenAuthentication
from scim_portal.api.context import ScimContext
from scim_portal.api.errors import scim_exception_handler
from scim_portal.api.negotiation import (
    PlainJSONParser,
    ScimContentNegotiation,
    ScimJSONParser,
    ScimJSONRenderer,
)
from scim_portal.conf import app_settings
from scim_portal.exceptions import Forbidden, PayloadTooLarge

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


class ScimView(APIView):
    authentication_classes = [ScimTokenAuthentication]
    permission_classes = [HasScimCredential]
    parser_classes = [ScimJSONParser, PlainJSONParser]
    renderer_classes = [ScimJSONRenderer]
    content_negotiation_class = ScimContentNegotiation
    throttle_classes: list = []
    versioning_class = None
    #: POST endpoints that only read (``/.search``) need the read scope only.
    read_only_post = False

    def get_exception_handler(self):
        return scim_exception_handler

    def initial(self, request: Request, *args, **kwargs) -> None:
        self.check_body_size(request)
        super().initial(request, *args, **kwargs)

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
