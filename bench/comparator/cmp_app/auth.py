"""Bearer-token authentication for django-scim2, which leaves authentication to the host."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from .models import Token


class BearerTokenMiddleware:
    """``Authorization: Bearer <key>`` logs the token's user in; one query, like DRF's TokenAuthentication."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user = AnonymousUser()
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() == "bearer" and key:
            token = Token.objects.select_related("user").filter(key=key.strip()).first()
            if token is not None and token.user.is_active:
                request.user = token.user
        return self.get_response(request)
