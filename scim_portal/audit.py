"""The provisioning log: one row per SCIM request, written after the request's
own transaction has finished, so a failed request is logged and a logged
success was committed.  Passwords and secrets are removed and bodies capped."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from typing import Any
from urllib.parse import unquote_plus

from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from scim_portal.conf import app_settings
from scim_portal.models import Outcome, ProvisioningLog
from scim_portal.models.query import PreparedInsert
from scim_portal.scim import jsontext, schema
from scim_portal.scim.patch import operation_fields, writes_password

logger = logging.getLogger("scim_portal.audit")

SECRET_KEYS = frozenset({"password", "client_secret", "access_token", "refresh_token", "token", "secret"})
REDACTED = "[removed]"
PRUNE_BATCH = 10_000

#: Query parameters and form fields whose value is a credential (``?access_token=...``):
#: a name containing one of these words, compared without regard to case.
CREDENTIAL_WORDS = ("token", "secret", "passw", "bearer", "auth", "apikey", "api_key", "api-key",
                    "credential", "code", "key", "session", "jwt", "assertion")


def is_secret_name(name: Any) -> bool:
    """Whether a body key or PATCH path names a secret.

    The PATCH engine's own resolution decides for the password
    (:func:`~scim_portal.scim.patch.writes_password`: ``"Password"``, ``" password "``,
    ``urn:...:User:password``), so what the engine reads as a password the log never
    keeps; other credential names (``client_secret``, ``token``...) match by their last
    segment, without regard to case or surrounding spaces.
    """
    if not isinstance(name, str):
        return False
    return writes_password(name, schema.USER) or name.strip().rsplit(":", 1)[-1].strip().lower() in SECRET_KEYS


def redact(value: Any) -> Any:
    """A copy of a JSON value with secret-bearing keys replaced.

    PATCH operations naming a secret in their ``path`` (``{"op": "replace",
    "path": "password", "value": ...}``, member names in any case, as the engine
    reads them through :func:`~scim_portal.scim.patch.operation_fields`) have
    their ``value`` replaced too.
    """
    if isinstance(value, dict):
        _op, path, _has_value, _value = operation_fields(value)
        secret_path = is_secret_name(path)
        return {
            k: (REDACTED if is_secret_name(k) or (secret_path and str(k).strip().lower() == "value")
                else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def body_record(raw: bytes) -> Any:
    """What the log keeps of a request body: the parsed JSON (redacted when written), or,
    for anything that is not JSON we can walk (form fields, single quotes, 2,000 nested
    brackets), only its size and SHA-256.  Text we cannot parse cannot be redacted: a
    password in it would be stored in clear."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
        if jsontext.depth(value) <= jsontext.MAX_DEPTH:
            return jsontext.escaped(value)  # lone surrogates and NULs made storable
    except (ValueError, RecursionError):
        pass
    return {"unparsed": True, "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}


def is_credential_parameter(name: str) -> bool:
    lowered = name.strip().lower()
    return any(word in lowered for word in CREDENTIAL_WORDS)


def scrub_path(full_path: str) -> str:
    """The request path with the value of every credential-looking query parameter
    (``access_token``, ``token``, ``bearer``, ``client_secret``, ``password``...) removed."""
    path, sep, query = full_path.partition("?")
    if not sep:
        return full_path
    parts = []
    for part in query.split("&"):
        name, has_value, _value = part.partition("=")
        if has_value and is_credential_parameter(unquote_plus(name)):
            part = f"{name}={REDACTED}"
        parts.append(part)
    return f"{path}?{'&'.join(parts)}"


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
    except (OperationalError, InterfaceError):
        # The database is down or busy: the answer (a 503) must still go out, unlogged.
        logger.warning("Could not write the provisioning log entry", exc_info=True)
        return None
    except (DatabaseError, ValueError):
        pass
    # PostgreSQL refuses NUL characters and lone surrogates in JSON and text: keep the row without them.
    for key in ("request_body", "response_body", "path", "detail"):
        fields[key] = jsontext.escaped(fields.get(key))
    try:
        return _insert(fields)
    except Exception:  # the database may be down: the answer must still go out
        logger.exception("Could not write the provisioning log entry")
        return None


#: The log row's INSERT, built once (every write and every failure runs it).
LOG_INSERT = PreparedInsert(ProvisioningLog)


def _insert(fields: dict[str, Any]) -> ProvisioningLog:
    if transaction.get_autocommit() and not transaction.get_connection().in_atomic_block:
        # One INSERT in autocommit mode commits alone: no BEGIN/COMMIT round trips.
        return LOG_INSERT.insert(ProvisioningLog(**fields))
    with transaction.atomic():
        return LOG_INSERT.insert(ProvisioningLog(**fields))


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
