"""The provisioning log: one row per SCIM request, written after the request's
own transaction has finished, so a failed request is logged and a logged
success was committed.  Passwords and secrets are removed and bodies capped."""

from __future__ import annotations

import datetime
import json
import logging
import re
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from scim_portal.conf import app_settings
from scim_portal.models import Outcome, ProvisioningLog

logger = logging.getLogger("scim_portal.audit")

SECRET_KEYS = frozenset({"password", "client_secret", "access_token", "refresh_token", "token", "secret"})
REDACTED = "[removed]"
PRUNE_BATCH = 10_000


#: A secret-bearing ``"key": "value"`` pair in text that is not valid JSON.
_SECRET_NAMES = "|".join(sorted(SECRET_KEYS))
SECRET_IN_TEXT = re.compile(
    r'("(?:[^"\\]*:)?(?:' + _SECRET_NAMES + r')"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\s]*)', re.IGNORECASE,
)


def is_secret_name(name: Any) -> bool:
    """``password``, or a SCIM path ending in it (``urn:...:User:password``)."""
    return str(name).rsplit(":", 1)[-1].lower() in SECRET_KEYS


def redact(value: Any) -> Any:
    """A copy of a JSON value with secret-bearing keys replaced.

    PATCH operations naming a secret in their ``path`` (``{"op": "replace",
    "path": "password", "value": ...}``) have their ``value`` replaced too.
    """
    if isinstance(value, dict):
        secret_path = isinstance(value.get("path"), str) and is_secret_name(value["path"])
        return {
            k: (REDACTED if is_secret_name(k) or (secret_path and str(k).lower() == "value") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


#: A quoted secret name left in text after the pairs were scrubbed (``"path": "password"``).
SECRET_NAME_IN_TEXT = re.compile(r'"(?:[^"\\]*:)?(?:' + _SECRET_NAMES + r')"', re.IGNORECASE)


def redact_text(text: str) -> str:
    """Scrub secrets from a body that could not be parsed as JSON.

    ``"password": "..."`` pairs lose their value; if a secret is still named
    elsewhere (a PATCH ``path``), everything after that name is dropped.
    """
    text = SECRET_IN_TEXT.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    for match in SECRET_NAME_IN_TEXT.finditer(text):
        rest = text[match.end():].lstrip(" \t\r\n:")
        if not rest.startswith(f'"{REDACTED}"'):
            return f"{text[: match.end()]} {REDACTED}"
    return text


def may_hold_secret(text: str) -> bool:
    """Whether a secret name occurs anywhere in a body's JSON text: only then can :func:`redact` change it."""
    lowered = text.lower()  # as is_secret_name compares
    return any(name in lowered for name in SECRET_KEYS)


def capped(value: Any, text: str | None = None) -> Any:
    """The value itself when its JSON (``text``, encoded here if not given) is small
    enough, else a truncated preview."""
    if value is None:
        return None
    if text is None:
        text = json.dumps(value, default=str, ensure_ascii=False)
    limit = app_settings.LOG_BODY_BYTES
    if len(text) <= limit:
        return value
    return {"truncated": True, "size": len(text), "preview": text[:limit]}


def scrubbed(value: Any, text: str | None = None) -> Any:
    """``capped(redact(value))`` at the cost of one JSON encoding for bodies without secrets
    (none when ``text``, the value's JSON as sent, is given).

    Responses can be large (a page of users, a group with all its members); walking
    and copying them to find no secret would cost more than answering the request.
    """
    if value is None:
        return None
    if text is None:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return capped(redact(value)) if may_hold_secret(text) else capped(value, text)


def write_log(**fields: Any) -> ProvisioningLog | None:
    """Insert one log row; a logging failure never breaks the SCIM response."""
    if not app_settings.LOG_REQUESTS:
        return None
    fields["request_body"] = scrubbed(fields.get("request_body"))
    fields["response_body"] = scrubbed(fields.get("response_body"), fields.pop("response_text", None))
    fields["outcome"] = Outcome.SUCCESS if fields["status"] < 400 else Outcome.FAILURE
    fields.setdefault("created", timezone.now())
    try:
        return _insert(fields)
    except DatabaseError:
        pass
    # PostgreSQL refuses NUL characters in JSON and text: keep the row, without them.
    for key in ("request_body", "response_body", "path", "detail"):
        fields[key] = without_nul(fields.get(key))
    try:
        return _insert(fields)
    except DatabaseError:
        logger.exception("Could not write the provisioning log entry")
        return None


def _insert(fields: dict[str, Any]) -> ProvisioningLog:
    if transaction.get_autocommit() and not transaction.get_connection().in_atomic_block:
        # One INSERT in autocommit mode commits alone: no BEGIN/COMMIT round trips.
        return ProvisioningLog.objects.create(**fields)
    with transaction.atomic():
        return ProvisioningLog.objects.create(**fields)


def without_nul(value: Any) -> Any:
    """The value with every NUL character removed from its strings and keys."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def prune(days: int | None = None) -> int:
    """Delete log rows older than ``days`` (default ``LOG_RETENTION_DAYS``); return how many."""
    days = app_settings.LOG_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - datetime.timedelta(days=days)
    old = ProvisioningLog.objects.filter(created__lt=cutoff).order_by()
    deleted = 0
    # In batches: millions of rows are removed without one long, table-wide statement.
    while batch := list(old.values_list("pk", flat=True)[:PRUNE_BATCH]):
        deleted += ProvisioningLog.objects.filter(pk__in=batch).delete()[0]
    return deleted
