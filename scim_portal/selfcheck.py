"""The "self-check" of an integration: call its SCIM base URL from the server, as an IdP would.

It answers the questions an admin has before pressing the IdP's own test
button: is the URL reachable from outside the browser, does TLS verify (for
https), does the endpoint refuse a request without a credential (RFC 7644
section 2: 401) and accept a valid bearer token (RFC 6750)?  The token is a
short-lived read-only probe, never shown, deleted as soon as the check ends;
its requests are logged with the credential ``self-check`` and are not the
IdP's in the integration's health.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone

from scim_portal.models import Integration, ScimToken, Scope

TIMEOUT_SECONDS = 5
PROBE_LIFETIME = dt.timedelta(minutes=1)
#: The probe token's prefix, so the credential its requests are logged with.  No issued token has
#: it (theirs start with TOKEN_PREFIX and are shorter): the health leaves these requests out of the
#: IdP's figures, and the log says which requests were the probe's.
PROBE_CREDENTIAL = "self-check"
SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


@dataclass(frozen=True)
class Check:
    """One line of the result: ``ok`` is None when the check does not apply."""

    name: str
    ok: bool | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Reply:
    status: int | None
    body: bytes = b""
    error: str = ""


def fetch(url: str, token: str | None = None) -> Reply:
    """GET ``url`` as a SCIM client; a refused connection or a TLS failure is an ``error``."""
    headers = {"Accept": "application/scim+json", "User-Agent": "scim_portal self-check"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()) as reply:
            return Reply(reply.status, reply.read(65536))
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.read(65536))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Reply(None, error=str(reason) or type(reason).__name__)


def is_tls_error(reply: Reply) -> bool:
    return "CERTIFICATE" in reply.error.upper() or "SSL" in reply.error.upper()


def reachability(url: str, reply: Reply) -> list[Check]:
    scheme = urlsplit(url).scheme
    if reply.status is None and is_tls_error(reply):
        return [Check("Reachable", True, "the server answered the TLS handshake"),
                Check("TLS", False, reply.error)]
    if reply.status is None:
        return [Check("Reachable", False, f"{url}: {reply.error}")]
    tls = (Check("TLS", True, "certificate verified") if scheme == "https"
           else Check("TLS", None, "not used: the base URL is http; IdPs need https in production"))
    return [Check("Reachable", True, f"HTTP {reply.status} from {url}"), tls]


def refuses_anonymous(reply: Reply) -> Check:
    ok = reply.status == 401
    return Check("Refuses requests without a token", ok,
                 "401 as RFC 7644 asks" if ok else f"expected 401, got {reply.status}")


def accepts_token(reply: Reply) -> Check:
    try:
        document = json.loads(reply.body or b"null")
    except ValueError:
        document = None
    ok = reply.status == 200 and isinstance(document, dict) and SPC_URN in document.get("schemas", [])
    detail = ("200 with the ServiceProviderConfig" if ok else
              f"expected 200 with the ServiceProviderConfig, got {reply.status or reply.error}")
    return Check("Accepts a bearer token", ok, detail)


def run(integration: Integration, base_url: str, created_by: Any = None) -> list[Check]:
    """Probe ``base_url`` (the URL given to the IdP); a probe token exists only during the call.

    ``created_by`` (the admin who pressed the button) is recorded in the token's history.
    """
    url = base_url.rstrip("/") + "/ServiceProviderConfig"
    anonymous = fetch(url)
    checks = reachability(url, anonymous)
    if anonymous.status is None:
        return checks
    checks.append(refuses_anonymous(anonymous))
    issued = ScimToken._create(integration, description="self-check probe", created_by=created_by,
                               expires_at=timezone.now() + PROBE_LIFETIME, service_account=None,
                               scopes=Scope.READ)
    ScimToken.objects.filter(pk=issued.token.pk).update(prefix=PROBE_CREDENTIAL)
    try:
        checks.append(accepts_token(fetch(url, issued.raw)))
    finally:
        issued.token.delete()
    return checks
