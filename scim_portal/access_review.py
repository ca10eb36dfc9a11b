"""The access review: who has access to the portal that no identity provider vouches for.

Two findings, streamed for portals of any size (keyset pages of
``ACCESS_REVIEW_CHUNK_SIZE`` users, a fixed number of queries per page):

- ``unmanaged``: active portal accounts no enabled integration manages: never
  provisioned (or their integration was deleted), their integration disabled,
  the IdP deleted them, or an integration's service account;
- ``deactivated_with_access``: accounts an IdP deactivated that still hold live
  sessions or OAuth tokens, or are active again in the portal.

Each row says whether the account is staff or superuser.  See docs/guard-rails.md.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Q
from django.utils import timezone

from scim_portal.adapter import ScimAdapter, get_adapter
from scim_portal.conf import app_settings
from scim_portal.mapping import host_active_field
from scim_portal.models import Integration, ScimUser

UNMANAGED = "unmanaged"
DEACTIVATED_WITH_ACCESS = "deactivated_with_access"

#: Session engines whose sessions live in ``django.contrib.sessions``' table.
DB_SESSION_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


@dataclass(frozen=True)
class Finding:
    """One row of the review."""

    finding: str
    reason: str
    user_id: Any
    username: str
    email: str
    is_active: bool
    is_staff: bool
    is_superuser: bool
    integration: str
    scim_user_name: str
    deactivated_at: datetime | None
    last_login: datetime | None
    sessions: int | None  # None: the portal cannot tell (see ScimAdapter.session_counts)
    oauth_tokens: int


COLUMNS = [f.name for f in fields(Finding)]


class UserFields:
    """Names of the host user's fields the review reads (absent ones read as empty or False)."""

    def __init__(self) -> None:
        self.model = get_user_model()
        self.username = self.model.USERNAME_FIELD
        self.email = self.model.get_email_field_name()
        self.flags = [name for name in ("is_active", "is_staff", "is_superuser", "last_login") if self.has(name)]

    def has(self, name: str) -> bool:
        try:
            self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        return True

    def values(self, prefix: str = "") -> list[str]:
        names = dict.fromkeys([self.username, *([self.email] if self.has(self.email) else []), *self.flags])
        return [prefix + name for name in names]

    def active(self, prefix: str = "") -> Q:
        name = host_active_field()
        return Q(**{prefix + name: True}) if name else Q()


def review(chunk_size: int | None = None, adapter: ScimAdapter | None = None) -> Iterator[Finding]:
    """Every finding, unmanaged accounts first, each kind in primary-key order."""
    size = chunk_size or app_settings.ACCESS_REVIEW_CHUNK_SIZE
    access = Access(adapter or get_adapter())
    yield from unmanaged(size, access)
    yield from deactivated_with_access(size, access)


def keyset(queryset: Any, key: str, size: int) -> Iterator[list[dict[str, Any]]]:
    """Pages of ``queryset.values()`` by increasing ``key``: one query each, never an OFFSET."""
    last = None
    while True:
        page = queryset.filter(**({f"{key}__gt": last} if last is not None else {}))
        rows = list(page.order_by(key)[:size])
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = rows[-1][key]


def unmanaged(size: int, access: Access) -> Iterator[Finding]:
    user_fields = UserFields()
    service_accounts = dict(Integration.objects.values_list("service_account_id", "name"))
    identity = "scim_identity__"
    rows = user_fields.model.objects.filter(user_fields.active()).filter(
        Q(scim_identity__isnull=True) | Q(scim_identity__integration__enabled=False)
        | Q(scim_identity__deleted_at__isnull=False)
    ).values("pk", *user_fields.values(), identity + "user_name", identity + "deactivated_at",
             identity + "deleted_at", identity + "integration__name")
    for page in keyset(rows, "pk", size):
        counts = access.of([row["pk"] for row in page])
        for row in page:
            reason = unmanaged_reason(row, service_accounts)
            yield finding(UNMANAGED, reason, row, user_fields, counts, identity)


def unmanaged_reason(row: dict[str, Any], service_accounts: dict[Any, str]) -> str:
    integration = row["scim_identity__integration__name"]
    if row["pk"] in service_accounts:
        return f"service account of integration {service_accounts[row['pk']]}"
    if integration is None:
        return "never provisioned by an identity provider (or its integration was deleted)"
    if row["scim_identity__deleted_at"] is not None:
        return "deleted by the identity provider, active in the portal"
    return "its integration is disabled"


def deactivated_with_access(size: int, access: Access) -> Iterator[Finding]:
    user_fields = UserFields()
    rows = ScimUser.objects.filter(deactivated_at__isnull=False).exclude(
        # Deleted by the IdP yet active: already listed as unmanaged.
        Q(deleted_at__isnull=False) & user_fields.active("user__")
    ).values("pk", "user_id", "user_name", "deactivated_at", "integration__name",
             *user_fields.values("user__"))
    for page in keyset(rows, "pk", size):
        counts = access.of([row["user_id"] for row in page])
        for row in page:
            row = {"pk": row.pop("user_id"), **{k.removeprefix("user__"): v for k, v in row.items()
                                                if k != "pk"}}
            found = finding(DEACTIVATED_WITH_ACCESS, "", row, user_fields, counts, "")
            reasons = [why for why, present in (
                ("active in the portal", found.is_active),
                (f"{found.sessions} live session(s)", bool(found.sessions)),
                (f"{found.oauth_tokens} OAuth token(s)", bool(found.oauth_tokens)),
            ) if present]
            if reasons:
                yield Finding(**{**asdict(found), "reason": "deactivated by the identity provider; "
                                 + ", ".join(reasons)})


def finding(kind: str, reason: str, row: dict[str, Any], user_fields: UserFields,
            counts: dict[str, dict[Any, int] | None], prefix: str) -> Finding:
    sessions = counts["sessions"]
    return Finding(
        finding=kind, reason=reason, user_id=row["pk"],
        username=str(row.get(user_fields.username) or ""),
        email=str(row.get(user_fields.email) or ""),
        is_active=bool(row.get("is_active", True)),
        is_staff=bool(row.get("is_staff", False)),
        is_superuser=bool(row.get("is_superuser", False)),
        integration=row.get(prefix + "integration__name") or "",
        scim_user_name=row.get(prefix + "user_name") or "",
        deactivated_at=row.get(prefix + "deactivated_at"),
        last_login=row.get("last_login"),
        sessions=None if sessions is None else sessions.get(row["pk"], 0),
        oauth_tokens=(counts["oauth"] or {}).get(row["pk"], 0),
    )


class Access:
    """Sessions and OAuth tokens of a page of users: a fixed number of queries per page.

    An adapter that keeps ``ScimAdapter``'s default ``session_counts`` would decode
    the whole session table for every page; the review decodes it once instead,
    at its first page, and looks each page's users up in that.
    """

    def __init__(self, adapter: ScimAdapter) -> None:
        self.adapter = adapter
        self.decodes = type(adapter).session_counts is ScimAdapter.session_counts
        self.owners: dict[str, int] | None = None
        self.decoded = False

    def of(self, user_ids: list[Any]) -> dict[str, dict[Any, int] | None]:
        return {"sessions": self.sessions(user_ids), "oauth": oauth_token_counts(user_ids)}

    def sessions(self, user_ids: list[Any]) -> dict[Any, int] | None:
        if not self.decodes:
            return self.adapter.session_counts(user_ids)
        if not self.decoded:
            self.owners, self.decoded = decoded_session_owners(), True
        return None if self.owners is None else owned(self.owners, user_ids)


def oauth_token_counts(user_ids: list[Any]) -> dict[Any, int]:
    """Unexpired access tokens plus unrevoked refresh tokens (django-oauth-toolkit) per user."""
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    totals: dict[Any, int] = {}
    live = (
        get_access_token_model().objects.filter(user_id__in=user_ids, expires__gt=timezone.now()),
        get_refresh_token_model().objects.filter(user_id__in=user_ids, revoked__isnull=True),
    )
    for queryset in live:
        for user_id, count in queryset.values("user_id").annotate(n=Count("pk")).values_list("user_id", "n"):
            totals[user_id] = totals.get(user_id, 0) + count
    return totals


def decoded_session_counts(user_ids: list[Any]) -> dict[Any, int] | None:
    """Live sessions per user, read from ``django.contrib.sessions``' table by decoding them.

    That table is keyed by session only, so this streams every unexpired session
    once per call (one query, ``iterator``; the review calls it once, not per
    page); a portal with many sessions should record sessions per user and
    override ``ScimAdapter.session_counts``.  Other session engines (cache,
    files, signed cookies) cannot be searched: ``None``.
    """
    owners = decoded_session_owners()
    return None if owners is None else owned(owners, user_ids)


def decoded_session_owners() -> dict[str, int] | None:
    """Live sessions per logged-in user id (as text), decoded from the session table in one pass."""
    if settings.SESSION_ENGINE not in DB_SESSION_ENGINES:
        return None
    from django.contrib.sessions.models import Session

    owners: dict[str, int] = {}
    sessions = Session.objects.filter(expire_date__gt=timezone.now())
    for session in sessions.only("session_key", "session_data").iterator(chunk_size=2000):
        owner = session.get_decoded().get("_auth_user_id")
        if owner is not None:
            owners[str(owner)] = owners.get(str(owner), 0) + 1
    return owners


def owned(owners: dict[str, int], user_ids: list[Any]) -> dict[Any, int]:
    """``owners`` keyed by the given users' ids (those with live sessions)."""
    return {pk: owners[str(pk)] for pk in user_ids if str(pk) in owners}


# -- output -------------------------------------------------------------------------------

def cell(value: Any) -> Any:
    from scim_portal.admin import csv_cell  # one rule for every CSV the portal writes

    if isinstance(value, datetime):
        return value.isoformat()
    return csv_cell(value)


def csv_lines(findings: Iterable[Finding]) -> Iterator[str]:
    """CSV text, line by line (``csv.writer`` quoting; no cell a spreadsheet would run)."""
    from scim_portal.admin import _Echo  # the admin's CSV exports write through it too

    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for item in findings:
        yield writer.writerow([cell(value) for value in asdict(item).values()])


def json_chunks(findings: Iterable[Finding]) -> Iterator[str]:
    """One JSON array, written a row at a time."""
    yield "["
    for index, item in enumerate(findings):
        yield ("," if index else "") + "\n" + json.dumps(asdict(item), default=json_value)
    yield "\n]\n"


def json_value(value: Any) -> Any:
    """Datetimes in full, as ``isoformat`` (like the CSV and the portal's other JSON), anything else
    as text.  Not ``DjangoJSONEncoder``: it cuts microseconds and raises on types it does not know."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
