"""Bulk builders for large directories (users, SCIM identities, group members)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from scim_portal.models import Integration, ScimGroup, ScimUser


def bulk_users(integration: Integration, count: int, *, prefix: str = "user") -> list[ScimUser]:
    """``count`` host users with SCIM identities, inserted in batches."""
    User = get_user_model()

    def host_user(i: int) -> Any:
        # Any host: the login field and the fields it requires (unique ones included) are filled per user.
        email = f"{prefix}{i}@example.com"
        values = {"email": email, User.USERNAME_FIELD: email, "first_name": f"First{i}", "last_name": f"Last{i}"}
        for name in User.REQUIRED_FIELDS:
            values.setdefault(name, f"{prefix}{i}")
        return User(**values)

    users = User.objects.bulk_create([host_user(i) for i in range(count)], batch_size=2000)
    if users and users[0].pk is None:  # backends that do not return ids from bulk inserts
        users = list(User.objects.filter(email__startswith=prefix).order_by("pk"))
    identities = [
        ScimUser(
            scim_id=uuid.uuid4(), integration=integration, user=user, user_name=user.email,
            user_name_key=user.email.casefold(), external_id=f"ext-{prefix}-{i}",
            email_key=user.email.casefold(),
            document={"userName": user.email, "name": {"givenName": user.first_name,
                                                       "familyName": user.last_name},
                      "emails": [{"value": user.email, "type": "work", "primary": True}],
                      "active": True},
        )
        for i, user in enumerate(users)
    ]
    return ScimUser.objects.bulk_create(identities, batch_size=2000)


def group_with_members(integration: Integration, name: str, members: list[ScimUser]) -> ScimGroup:
    group = Group.objects.create(name=name)
    through = get_user_model().groups.through
    through.objects.bulk_create(
        [through(user_id=m.user_id, group_id=group.pk) for m in members], batch_size=5000
    )
    return ScimGroup.objects.create(integration=integration, group=group, display_name=name)
