"""The benchmark's data set: deterministic, so the seeder and the client agree without talking.

User ``i`` (0-based) has the same userName, email, externalId and names in
every system; its SCIM id is a UUID derived from ``i`` (scim_portal and the
bare floor) or ``i + 1`` (django-scim2, whose id is the primary key).
"""

from __future__ import annotations

import hashlib
import uuid

GIVEN = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia", "Ken",
         "Margaret", "Tim", "Shafi", "Leslie", "Sophie", "Linus", "Hedy", "Niklaus", "Karen", "Dennis")
FAMILY = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "McCarthy", "Perlman",
          "Thompson", "Hamilton", "Berners-Lee", "Goldwasser", "Lamport", "Wilson", "Torvalds", "Lamarr",
          "Wirth", "Jones", "Ritchie")
DOMAIN = "bench.example"
NAMESPACE = uuid.UUID("6f1c2d7e-4b1a-4f7e-9a55-2b0c5e8d1a10")

#: Members of the small group, for the "same PATCH on a 1k-member group" comparison.
SMALL_GROUP_MEMBERS = 1000
BIG_GROUP_NAME = "Bench everyone"
SMALL_GROUP_NAME = "Bench small team"


def given_name(i: int) -> str:
    return GIVEN[i % len(GIVEN)]


def family_name(i: int) -> str:
    return FAMILY[(i // len(GIVEN)) % len(FAMILY)]


def user_name(i: int) -> str:
    return f"{given_name(i).lower()}.{family_name(i).lower()}.{i}@{DOMAIN}"


def email(i: int) -> str:
    return user_name(i)


def external_id(i: int) -> str:
    """Okta-style user id (``00u`` + 17 characters)."""
    return "00u" + hashlib.sha1(f"ext-{i}".encode()).hexdigest()[:17]


def scim_uuid(i: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"user-{i}")


def group_uuid(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"group-{name}")


def group_sizes(users: int, group_members: int) -> tuple[int, int]:
    """Members of the big group (users 0..M-1) and of the small group (users 0..S-1)."""
    return min(group_members, users), min(SMALL_GROUP_MEMBERS, users)
