"""What every SCIM request is obliged to do, written plainly, around the bare views.

The ``bare+auth+log`` floor: the bare view plus one indexed lookup of the bearer
token's SHA-256 digest (401 when it is unknown) and one INSERT of a log row with the
JSON bodies (a body over 16 KiB is kept as a preview, as scim_portal keeps it).  No
cache of credentials across requests: a deleted token fails on the next request.
The time each obligation took is returned in ``Server-Timing`` (``auth``, ``log``, ms).
"""

from __future__ import annotations

import hashlib
import json
import time

from django.http import JsonResponse
from django.utils import timezone

from .models import ApiToken, RequestLog

BODY_LIMIT = 16 * 1024


def logged_body(raw: bytes):
    if not raw:
        return None
    if len(raw) > BODY_LIMIT:
        return {"truncated": True, "size": len(raw), "preview": raw[:BODY_LIMIT].decode("utf-8", "replace")}
    return json.loads(raw)


class ObligationsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        header = request.headers.get("Authorization", "")
        raw = header.removeprefix("Bearer ").strip()
        digest = hashlib.sha256(raw.encode()).hexdigest()
        token = ApiToken.objects.filter(digest=digest).first()  # the indexed lookup
        auth_ms = (time.perf_counter() - started) * 1000
        if token is None:
            response = JsonResponse({"detail": "invalid token"}, status=401)
        else:
            response = self.get_response(request)
        started = time.perf_counter()
        RequestLog.objects.create(  # the log row
            created=timezone.now(), token=token, method=request.method, path=request.get_full_path()[:500],
            status=response.status_code, request_body=logged_body(request.body),
            response_body=logged_body(response.content),
        )
        log_ms = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = f"auth;dur={auth_ms:.3f}, log;dur={log_ms:.3f}"
        return response
