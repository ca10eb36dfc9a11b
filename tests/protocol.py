"""Shared helpers for the HTTP protocol tests (Users, Groups, errors)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from scim_portal.models import ScimGroup, ScimUser

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def user_body(user_name: str, **extra: Any) -> dict[str, Any]:
    """A minimal but complete user as IdPs send it."""
    local = user_name.split("@")[0]
    body: dict[str, Any] = {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": local.capitalize(), "familyName": "Tester"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
    }
    body.update(extra)
    return body


def host_user(user_name: str) -> Any:
    """The portal account a SCIM userName was provisioned to, in any host (by its login field)."""
    User = get_user_model()
    return User.objects.get(**{f"{User.USERNAME_FIELD}__iexact": user_name})


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def create_user(scim, user_name: str, **extra: Any) -> dict[str, Any]:
    response = scim.post("Users", user_body(user_name, **extra))
    assert response.status_code == 201, response.json_body
    return response.json_body


def create_group(scim, name: str, members: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP], "displayName": name, **extra}
    if members is not None:
        body["members"] = [{"value": m} for m in members]
    response = scim.post("Groups", body)
    assert response.status_code == 201, response.json_body
    return response.json_body


def assert_error(response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """The response is a SCIM error (RFC 7644 3.12) with this status and scimType."""
    assert response.status_code == status, (response.status_code, response.json_body)
    body = response.json_body
    assert isinstance(body, dict), body
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert isinstance(body.get("detail"), str) and body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


def member_ids(group: dict[str, Any]) -> list[str]:
    return sorted(m["value"] for m in group.get("members", []))


def db_state() -> dict[str, Any]:
    """Everything a SCIM write may touch: identities, host users and groups, memberships."""
    User = get_user_model()
    through = User.groups.through
    return {
        "scim_users": sorted(
            ScimUser.objects.values_list(
                "scim_id", "user_name", "external_id", "document", "version", "deleted_at",
                "deactivated_at", "email_key",
            ),
            key=str,
        ),
        "users": sorted(
            User.objects.values_list("pk", "email", "first_name", "last_name", "is_active", "password"),
            key=str,
        ),
        "scim_groups": sorted(
            ScimGroup.objects.values_list("scim_id", "display_name", "external_id", "document", "version"),
            key=str,
        ),
        "groups": sorted(get_groups(), key=str),
        "members": sorted(through.objects.values_list("user_id", "group_id")),
    }


def get_groups() -> list[tuple[int, str]]:
    from django.contrib.auth.models import Group

    return list(Group.objects.values_list("pk", "name"))
