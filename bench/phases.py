"""The IdP request mix: what each phase sends to each system.

A phase builds its k-th request for a system.  Paired phases (Okta's lookup then
create; a member removal then its re-adding) run interleaved, request by request,
so the data stays the same size however many requests a run makes.  Bodies are
the ones Okta and Entra send (docs/idp/okta.md and docs/idp/entra.md),
with per-request values so that every create and rename is new.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bench import dataset

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM = "/scim/v2"

SYSTEMS = ("scim_portal", "django-scim2", "bare", "bare+auth+log")
#: The two floors: plain Django views (the second also authenticates and logs each request).
FLOORS = ("bare", "bare+auth+log")


@dataclass
class Req:
    method: str
    path: str
    body: Any = None
    expect: tuple[int, ...] = (200,)
    #: Text the response must contain (a lookup that finds nothing fast is not a lookup).
    must_contain: str | None = None


@dataclass
class Ctx:
    """What the client knows about one seeded system."""

    system: str
    users: int
    big: int
    small: int
    groups: dict[str, str]
    requests: int
    pools: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(self.users)  # the same users in every system
        order = list(range(self.users))
        rng.shuffle(order)
        reads = order[: min(self.requests, self.users)]
        rest = order[len(reads):] or order
        size = max(1, min(self.requests, len(rest) // 3))
        self.pools = {
            "read": reads,
            "okta_patch": rest[:size],
            "entra_patch": rest[size : 2 * size] or rest[:size],
            "put": rest[2 * size : 3 * size] or rest[:size],
        }

    def pick(self, pool: str, k: int) -> int:
        values = self.pools[pool]
        return values[k % len(values)]

    def user_id(self, i: int) -> str:
        if self.system == "django-scim2":
            return str(i + 1)
        return str(dataset.scim_uuid(i))

    @property
    def big_group(self) -> str:
        return self.groups[dataset.BIG_GROUP_NAME]

    @property
    def small_group(self) -> str:
        return self.groups[dataset.SMALL_GROUP_NAME]

    @property
    def scim(self) -> bool:
        return self.system not in FLOORS


def scim_filter(expression: str) -> str:
    return "filter=" + quote(expression, safe="")


def eq_filter(attribute: str, value: str) -> str:
    return scim_filter(f'{attribute} eq "{value}"')


def okta_name(k: int) -> str:
    return f"okta.new.{k}@{dataset.DOMAIN}"


def entra_name(k: int) -> str:
    return f"entra.new.{k}@{dataset.DOMAIN}"


# -- users: lookup + create ----------------------------------------------------------------
def okta_lookup_create(ctx: Ctx, k: int) -> list[tuple[str, Req]]:
    name = okta_name(k)
    if not ctx.scim:
        return [
            ("okta_lookup", Req("GET", f"/users?userName={quote(name)}")),
            ("okta_create", Req("POST", "/users", {
                "user_name": name, "email": name, "external_id": f"00unew{k:014d}",
                "given_name": "Test", "family_name": f"User{k}"}, expect=(201,))),
        ]
    body = {
        "schemas": [USER], "userName": name,
        "name": {"givenName": "Test", "familyName": f"User{k}"},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "displayName": f"Test User{k}", "locale": "en-US", "externalId": f"00unew{k:014d}",
        "groups": [], "password": secrets.token_urlsafe(6), "active": True,
    }
    return [
        ("okta_lookup", Req("GET", f"{SCIM}/Users?{eq_filter('userName', name)}&startIndex=1&count=100")),
        ("okta_create", Req("POST", f"{SCIM}/Users", body, expect=(201,))),
    ]


def entra_lookup_create(ctx: Ctx, k: int) -> list[tuple[str, Req]]:
    name = entra_name(k)
    external = str(uuid.uuid5(dataset.NAMESPACE, f"entra-{k}"))
    if not ctx.scim:
        return [
            ("entra_lookup", Req("GET", f"/users?userName={quote(name)}")),
            ("entra_create", Req("POST", "/users", {
                "user_name": name, "email": name, "external_id": external,
                "given_name": "givenName", "family_name": f"familyName{k}"}, expect=(201,))),
        ]
    body = {
        "schemas": [USER, ENTERPRISE], "externalId": external, "userName": name, "active": True,
        "emails": [{"primary": True, "type": "work", "value": name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"givenName familyName{k}", "familyName": f"familyName{k}", "givenName": "givenName"},
        "roles": [],
    }
    return [
        ("entra_lookup", Req("GET", f"{SCIM}/Users?{eq_filter('userName', name)}")),
        ("entra_create", Req("POST", f"{SCIM}/Users", body, expect=(201,))),
    ]


# -- users: reads ------------------------------------------------------------------------------
def get_user(ctx: Ctx, k: int) -> Req:
    i = ctx.pick("read", k)
    if not ctx.scim:
        return Req("GET", f"/users/{ctx.user_id(i)}", must_contain=dataset.user_name(i))
    return Req("GET", f"{SCIM}/Users/{ctx.user_id(i)}", must_contain=dataset.user_name(i))


def filter_username(ctx: Ctx, k: int) -> Req:
    i = ctx.pick("read", k)
    if not ctx.scim:
        return Req("GET", f"/users?userName={quote(dataset.user_name(i))}", must_contain=dataset.user_name(i))
    return Req("GET", f"{SCIM}/Users?{eq_filter('userName', dataset.user_name(i))}", must_contain=dataset.user_name(i))


def filter_externalid(ctx: Ctx, k: int) -> Req:
    i = ctx.pick("read", k)
    if not ctx.scim:
        return Req("GET", f"/users?externalId={quote(dataset.external_id(i))}", must_contain=dataset.user_name(i))
    return Req("GET", f"{SCIM}/Users?{eq_filter('externalId', dataset.external_id(i))}",
               must_contain=dataset.user_name(i))


def filter_email(ctx: Ctx, k: int) -> Req:
    i = ctx.pick("read", k)
    if not ctx.scim:
        return Req("GET", f"/users?email={quote(dataset.email(i))}", must_contain=dataset.user_name(i))
    expression = f'emails[type eq "work"].value eq "{dataset.email(i)}"'
    return Req("GET", f"{SCIM}/Users?{scim_filter(expression)}", must_contain=dataset.user_name(i))


def list_first(ctx: Ctx, k: int) -> Req:
    prefix = "/users" if not ctx.scim else f"{SCIM}/Users"
    return Req("GET", f"{prefix}?startIndex=1&count=100")


def list_deep(ctx: Ctx, k: int) -> Req:
    prefix = "/users" if not ctx.scim else f"{SCIM}/Users"
    return Req("GET", f"{prefix}?startIndex={max(1, ctx.users - 99)}&count=100")


# -- users: writes -----------------------------------------------------------------------------
def patch_user_okta(ctx: Ctx, k: int) -> Req:
    """Okta deactivation: a no-path replace."""
    i = ctx.pick("okta_patch", k)
    if not ctx.scim:
        return Req("PATCH", f"/users/{ctx.user_id(i)}", {"active": False})
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    return Req("PATCH", f"{SCIM}/Users/{ctx.user_id(i)}", body, expect=(200, 204))


def patch_user_entra(ctx: Ctx, k: int) -> Req:
    """Entra's legacy-default update: paths, PascalCase ops, ``"False"`` as a string."""
    i = ctx.pick("entra_patch", k)
    renamed = f"renamed.{i}.{k}@{dataset.DOMAIN}"
    if not ctx.scim:
        return Req("PATCH", f"/users/{ctx.user_id(i)}", {
            "email": renamed, "family_name": f"updatedFamilyName{k}", "user_name": renamed, "active": False})
    body = {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": renamed},
        {"op": "Replace", "path": "name.familyName", "value": f"updatedFamilyName{k}"},
        {"op": "Replace", "path": "userName", "value": renamed},
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": f"E{k:05d}"},
        {"op": "Replace", "path": "active", "value": "False"},
    ]}
    return Req("PATCH", f"{SCIM}/Users/{ctx.user_id(i)}", body, expect=(200, 204))


def put_user(ctx: Ctx, k: int) -> Req:
    """Okta's profile push: the full user back by PUT."""
    i = ctx.pick("put", k)
    family = f"{dataset.family_name(i)}-{k}"
    if not ctx.scim:
        return Req("PUT", f"/users/{ctx.user_id(i)}", {
            "user_name": dataset.user_name(i), "email": dataset.email(i), "external_id": dataset.external_id(i),
            "given_name": dataset.given_name(i), "family_name": family, "active": True})
    body = {
        "schemas": [USER], "id": ctx.user_id(i), "userName": dataset.user_name(i),
        "name": {"givenName": dataset.given_name(i), "familyName": family},
        "emails": [{"primary": True, "value": dataset.email(i), "type": "work"}],
        "displayName": f"{dataset.given_name(i)} {family}", "locale": "en-US",
        "externalId": dataset.external_id(i), "groups": [], "active": True,
    }
    return Req("PUT", f"{SCIM}/Users/{ctx.user_id(i)}", body)


# -- groups --------------------------------------------------------------------------------------
def get_group(ctx: Ctx, k: int) -> Req:
    """Entra's existence check: members excluded."""
    if not ctx.scim:
        return Req("GET", f"/groups/{ctx.big_group}")
    return Req("GET", f"{SCIM}/Groups/{ctx.big_group}?excludedAttributes=members")


def get_group_members(ctx: Ctx, k: int) -> Req:
    if not ctx.scim:
        return Req("GET", f"/groups/{ctx.big_group}?members=1")
    return Req("GET", f"{SCIM}/Groups/{ctx.big_group}")


def member_block(members: int, k: int) -> range:
    blocks = max(1, members // 100)
    start = (k % blocks) * 100
    return range(start, min(start + 100, members))


def membership_pair(ctx: Ctx, k: int, *, group: str, members: int, suffix: str) -> list[tuple[str, Req]]:
    """Okta's membership delta: -100 by filter paths, then the same 100 back by add."""
    block = member_block(members, k)
    ids = [ctx.user_id(i) for i in block]
    if not ctx.scim:
        return [
            (f"group_remove_100{suffix}", Req("DELETE", f"/groups/{group}/members", ids)),
            (f"group_add_100{suffix}", Req("POST", f"/groups/{group}/members", ids)),
        ]
    remove = {"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": f'members[value eq "{value}"]'} for value in ids]}
    add = {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members",
         "value": [{"value": value, "display": dataset.user_name(i)} for value, i in zip(ids, block, strict=True)]}]}
    return [
        (f"group_remove_100{suffix}", Req("PATCH", f"{SCIM}/Groups/{group}", remove, expect=(200, 204))),
        (f"group_add_100{suffix}", Req("PATCH", f"{SCIM}/Groups/{group}", add, expect=(200, 204))),
    ]


def group_pairs(ctx: Ctx, k: int) -> list[tuple[str, Req]]:
    """The membership delta on the big group, then on the 1k group, round by round.

    Sent together so that the two sizes a target compares are measured milliseconds
    apart, whatever the machine does meanwhile.
    """
    return [
        *membership_pair(ctx, k, group=ctx.big_group, members=ctx.big, suffix=""),
        *membership_pair(ctx, k, group=ctx.small_group, members=ctx.small, suffix="_1k"),
    ]


@dataclass(frozen=True)
class Phase:
    """A step of the run: phases (names) whose requests are built and sent together, round by round."""

    names: tuple[str, ...]
    build: Callable[[Ctx, int], Any]
    description: str

    def requests(self, ctx: Ctx, k: int) -> list[tuple[str, Req]]:
        built = self.build(ctx, k)
        return built if isinstance(built, list) else [(self.names[0], built)]


STEPS: tuple[Phase, ...] = (
    Phase(("okta_lookup", "okta_create"), okta_lookup_create,
          "Okta assign: GET filter userName eq (no match, startIndex/count) then POST the Okta body"),
    Phase(("entra_lookup", "entra_create"), entra_lookup_create,
          "Entra matching: GET filter userName eq (no match) then POST the Entra body"),
    Phase(("get_user",), get_user, "GET /Users/{id}"),
    Phase(("filter_username",), filter_username, 'GET /Users?filter=userName eq "…" (existing user)'),
    Phase(("filter_externalid",), filter_externalid, 'GET /Users?filter=externalId eq "…"'),
    Phase(("filter_email",), filter_email, 'GET /Users?filter=emails[type eq "work"].value eq "…"'),
    Phase(("list_first",), list_first, "GET /Users?startIndex=1&count=100"),
    Phase(("list_deep",), list_deep, "GET /Users?startIndex=N-99&count=100 (last page)"),
    Phase(("patch_user_okta",), patch_user_okta, 'Okta PATCH no-path replace {"active": false}'),
    Phase(("patch_user_entra",), patch_user_entra,
          "Entra legacy PATCH: 6 ops (emails filter path, name.familyName, userName, nickName, "
          'enterprise employeeNumber, active "False")'),
    Phase(("put_user",), put_user, "Okta PUT of the full user (familyName changed)"),
    Phase(("get_group",), get_group, "GET /Groups/{id}?excludedAttributes=members (big group)"),
    Phase(("get_group_members",), get_group_members, "GET /Groups/{id} with all members (big group)"),
    Phase(("group_remove_100", "group_add_100", "group_remove_100_1k", "group_add_100_1k"), group_pairs,
          'Okta PATCH on the big group: 100 remove ops members[value eq "…"], then add the same 100; '
          "each round also sends the same two PATCHes to the 1k-member group"),
)

PHASES: tuple[str, ...] = tuple(name for step in STEPS for name in step.names)
DESCRIPTIONS: dict[str, str] = {name: step.description for step in STEPS for name in step.names}
#: Phases that only read: the warm-up sends these.
WARMUP = (get_user, filter_username, filter_externalid, filter_email, list_first, get_group)
