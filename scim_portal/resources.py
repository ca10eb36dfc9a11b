"""Reading SCIM Users and Groups: scoping, lookup, filters, pages and rendering.

Everything here runs a countable, constant number of queries: one for a
resource, one for a page plus one ``COUNT``, and one for the members of all
groups on a page (none when ``members`` is excluded).
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext as _

from scim_portal.adapter import ScimAdapter, get_adapter
from scim_portal.conf import app_settings
from scim_portal.context import ScimContext
from scim_portal.exceptions import BadRequest, NotFound
from scim_portal.mapping import AttributeMap
from scim_portal.models import ScimGroup, ScimUser
from scim_portal.models.query import PreparedLookup, unique_row
from scim_portal.models.resources import fold
from scim_portal.scim import urns
from scim_portal.scim.filters import Filter, FilterTarget, equality_value, parse_filter, sort_lookup, tree_to_q
from scim_portal.scim.projection import project, wants

USER_STRING_ATTRIBUTES = (
    "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage",
    "locale", "timezone",
)
NAME_SUB_ATTRIBUTES = (
    "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix",
)
ENTERPRISE_STRING_ATTRIBUTES = (
    "employeeNumber", "costCenter", "organization", "division", "department",
)


#: Longest id kept (django-scim2's ``scim_id`` column is as wide).
MAX_ID_LENGTH = 254


def parse_scim_id(value: Any) -> str | None:
    """The stored form of a SCIM ``id`` (RFC 7643 3.1), or ``None`` for one that cannot exist.

    A UUID (what we issue) in any spelling Python reads becomes its canonical
    text; any other non-empty string is an id kept from an earlier service
    provider (see docs/migrating-from-django-scim2.md) and is compared as is.  No stored
    id holds a NUL character (PostgreSQL refuses one in any text, as a query parameter too).
    """
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH or "\x00" in value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


@dataclass(frozen=True)
class Page:
    total: int
    start_index: int
    items: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schemas": [urns.LIST_RESPONSE],
            "totalResults": self.total,
            "startIndex": self.start_index,
            "itemsPerPage": len(self.items),
            "Resources": self.items,
        }


@dataclass(frozen=True)
class Query:
    """A list or search request (RFC 7644 3.4.2 and 3.4.3)."""

    filter: str | None = None
    start_index: int = 1
    count: int | None = None
    sort_by: str | None = None
    sort_order: str = "ascending"
    attributes: list[str] | None = None
    excluded: list[str] | None = None


def id_target() -> FilterTarget:
    return FilterTarget("scim_id", kind="string", case_exact=True, normalize=parse_scim_id)


def meta_targets() -> dict[str, FilterTarget]:
    return {
        "meta.created": FilterTarget("created", kind="datetime"),
        "meta.lastmodified": FilterTarget("last_modified", kind="datetime"),
        "meta.resourcetype": FilterTarget("scim_id", kind="string", case_exact=True,
                                          normalize=lambda v: None),
    }


class ResourceService:
    """Shared reading logic; subclasses name the model, schema and filterable attributes."""

    model: type[ScimUser] | type[ScimGroup]
    resource_type: str
    endpoint: str
    core_schema: str

    def __init__(self, context: ScimContext, base_url: str, adapter: ScimAdapter | None = None):
        self.context = context
        self.base_url = base_url.rstrip("/")
        self.adapter = adapter or get_adapter()

    # -- queries -------------------------------------------------------------------
    def base_queryset(self) -> models.QuerySet:
        return self.model.objects.filter(integration=self.context.integration, deleted_at=None)

    def scoped(self) -> models.QuerySet:
        raise NotImplementedError

    #: Rows joined to the resource that a write changes: locked with it (see :meth:`get`).
    locked_relations: tuple[str, ...] = ()
    #: The adapter method that narrows what an integration sees of this resource type.
    scope_method: str
    #: The resource by integration and id, to read (``False``) and to lock (``True``), as the
    #: default scope finds it; built once (:class:`~scim_portal.models.query.PreparedLookup`).
    lookups: dict[bool, PreparedLookup]

    def get(self, scim_id: str, *, for_update: bool = False):
        """One resource of the integration, or 404.

        ``for_update`` joins and locks the resource row and the host rows a write changes
        (:attr:`locked_relations`) in the same ``SELECT ... FOR UPDATE``, so what the write
        reads is what is stored once the lock is held.  A joined row that is not locked is
        read from the snapshot taken before the lock wait: a concurrent write may have
        changed it meanwhile, and a write based on it would be lost (a host user still
        active after the IdP deactivated it, a host group keeping the name of a rename that
        lost the race).
        """
        key = parse_scim_id(scim_id)
        obj = self.find(key, for_update=for_update) if key else None
        if obj is None:
            raise NotFound(_("%(type)s %(id)s not found.") % {"type": self.resource_type, "id": scim_id})
        return obj

    def find(self, key: str, *, for_update: bool):
        """The row :meth:`get` returns, or ``None``: with the adapter's own scope through the
        ORM, else (the default) with SQL built once: every write and every read of one
        resource starts here."""
        if not self.adapter_scopes():
            return self.lookups[for_update].get(self.context.integration.pk, key)
        queryset = self.scoped()
        if for_update:
            queryset = queryset.select_related(*self.locked_relations).select_for_update(
                of=("self", *self.locked_relations))
        return unique_row(queryset.filter(scim_id=key))

    def adapter_scopes(self) -> bool:
        """Whether the adapter overrides the scope of this resource type (``scope_users``/``scope_groups``)."""
        return getattr(type(self.adapter), self.scope_method) is not getattr(ScimAdapter, self.scope_method)

    def filter_map(self) -> dict[str, FilterTarget]:
        raise NotImplementedError

    def search(self, query: Query) -> Page:
        tree = parse_filter(query.filter, max_length=app_settings.MAX_FILTER_LENGTH) if query.filter else None
        count = self.page_size(query.count)
        start = max(query.start_index, 1)
        found = self.by_unique_key(tree) if tree is not None and count and start == 1 else None
        if found is not None:  # at most one row: the page is the whole result
            return Page(total=len(found), start_index=1, items=self.render_many(found, query))
        queryset = self.scoped()
        if tree is not None:
            queryset = self.apply_filter(queryset, tree_to_q(tree, self.filter_map(), default_schema=self.core_schema))
        rows = self.page(queryset, query, start, count) if count else []
        # A page that is not full is the last one: its total is known without COUNT
        # (every lookup by userName, externalId or email is such a page).
        last_page = count and len(rows) < count and (rows or start == 1)
        total = start - 1 + len(rows) if last_page else queryset.count()
        items = self.render_many(rows, query)
        return Page(total=total, start_index=start, items=items)

    def by_unique_key(self, tree: Filter) -> list | None:
        """The rows of a filter that names one unique key, found without translating it (at most
        one), or ``None`` to search as usual (see :meth:`UserService.by_unique_key`)."""
        return None

    def apply_filter(self, queryset: models.QuerySet, condition: models.Q) -> models.QuerySet:
        return queryset.filter(condition)

    def page(self, queryset: models.QuerySet, query: Query, start: int, count: int) -> list:
        """The rows of one page.  A later page is found on the ids alone first, so the
        rows before it are skipped in an index (no join, no sort of whole rows)."""
        ordering = self.ordering(query)
        if start == 1:
            return list(queryset.order_by(*ordering)[:count])
        ids = queryset.order_by(*ordering).values("pk")[start - 1 : start - 1 + count]
        return list(queryset.filter(pk__in=ids).order_by(*ordering))

    def page_size(self, requested: int | None) -> int:
        if requested is None:
            return app_settings.DEFAULT_PAGE_SIZE
        if requested < 0:
            return 0
        return min(requested, app_settings.MAX_PAGE_SIZE)

    def ordering(self, query: Query) -> list[str]:
        if not query.sort_by:
            return ["id"]
        target = sort_lookup(query.sort_by, self.filter_map(), default_schema=self.core_schema)
        descending = (query.sort_order or "ascending").lower() == "descending"
        prefix = "-" if descending else ""
        return [prefix + target.lookup, prefix + "id"]

    # -- rendering -----------------------------------------------------------------
    def location(self, obj) -> str:
        return f"{self.base_url}/{self.endpoint}/{obj.scim_id}"

    def meta(self, obj) -> dict[str, Any]:
        return {
            "resourceType": self.resource_type,
            "created": obj.created.isoformat().replace("+00:00", "Z"),
            "lastModified": obj.last_modified.isoformat().replace("+00:00", "Z"),
            "location": self.location(obj),
            "version": obj.etag,
        }

    def render(self, obj, query: Query | None = None) -> dict[str, Any]:
        return self.render_many([obj], query or Query())[0]

    def render_many(self, rows: list, query: Query) -> list[dict[str, Any]]:
        return [self.project(self.to_resource(row, query), query) for row in rows]

    def to_resource(self, obj, query: Query) -> dict[str, Any]:
        raise NotImplementedError

    def project(self, resource: dict[str, Any], query: Query) -> dict[str, Any]:
        if not query.attributes and not query.excluded:
            return resource
        return project(resource, attributes=query.attributes, excluded=query.excluded)


def schemas_of(document: dict[str, Any], core: str) -> list[str]:
    return [core, *sorted(k for k in document if k.lower().startswith("urn:"))]


def resource_lookups(model: type[ScimUser] | type[ScimGroup], joined: tuple[str, ...],
                     locked: tuple[str, ...]) -> dict[bool, PreparedLookup]:
    """:attr:`ResourceService.lookups`: the default scope (the integration's live rows), by id,
    with the ``joined`` relations, and to lock, with the ``locked`` ones locked too."""

    def build(integration_id: int, key: str, *, for_update: bool) -> models.QuerySet:
        queryset = model.objects.filter(integration_id=integration_id, deleted_at=None, scim_id=key)
        if for_update:
            return queryset.select_related(*joined, *locked).select_for_update(of=("self", *locked))
        return queryset.select_related(*joined) if joined else queryset

    return {flag: PreparedLookup(functools.partial(build, for_update=flag), kinds=(int, str))
            for flag in (False, True)}


#: A live user of an integration by folded userName (:meth:`UserService.by_unique_key`).
USER_NAME_LOOKUP = PreparedLookup(lambda integration_id, key: ScimUser.objects.filter(
    integration_id=integration_id, deleted_at=None, user_name_key=key).select_related("user"), kinds=(int, str))


class UserService(ResourceService):
    model = ScimUser
    resource_type = "User"
    endpoint = "Users"
    core_schema = urns.USER
    locked_relations = ("user",)
    scope_method = "scope_users"
    lookups = resource_lookups(ScimUser, joined=("user",), locked=("user",))

    @property
    def attribute_map(self) -> AttributeMap:
        if not hasattr(self, "_attribute_map"):
            self._attribute_map = self.adapter.user_attribute_map(self.context.integration)
        return self._attribute_map

    def scoped(self) -> models.QuerySet[ScimUser]:
        queryset = self.base_queryset().select_related("user")
        return self.adapter.scope_users(queryset, self.context.integration)

    def by_unique_key(self, tree: Filter) -> list[ScimUser] | None:
        """``userName eq "..."`` (Okta's lookup before each create, Entra's before each write):
        one row at most, by the unique folded key, with SQL built once.  With an adapter
        that scopes users, or any other filter, the search runs as usual."""
        value = equality_value(tree, "userName", default_schema=self.core_schema)
        if value is None or self.adapter_scopes():
            return None
        found = USER_NAME_LOOKUP.get(self.context.integration.pk, fold(value))
        return [found] if found is not None else []

    def filter_map(self) -> dict[str, FilterTarget]:
        targets: dict[str, FilterTarget] = {
            "id": id_target(),
            "username": FilterTarget("user_name_key", case_exact=True, normalize=fold),
            "externalid": FilterTarget("external_id", case_exact=True),
            "emails.value": FilterTarget("email_key", case_exact=True, normalize=fold),
            "emails.type": FilterTarget("document__emails__0__type"),
            "emails.primary": FilterTarget("document__emails__0__primary", kind="boolean"),
            **meta_targets(),
        }
        for name in USER_STRING_ATTRIBUTES:
            targets[name.lower()] = self.document_target(name)
        for sub in NAME_SUB_ATTRIBUTES:
            targets[f"name.{sub.lower()}"] = self.document_target(f"name.{sub}")
        targets["active"] = self.document_target("active", kind="boolean")
        for name in ENTERPRISE_STRING_ATTRIBUTES:
            path = f"{urns.ENTERPRISE_USER}:{name}"
            targets[path.lower()] = self.document_target(path)
        manager = f"{urns.ENTERPRISE_USER}:manager.value"
        targets[manager.lower()] = FilterTarget(
            f"document__{urns.ENTERPRISE_USER}__manager__value", case_exact=True
        )
        return targets

    def document_target(self, path: str, kind: str = "string") -> FilterTarget:
        """A filter on a host field when the path is mapped, else on the stored document."""
        field_name = self.attribute_map.field_for(path)
        if field_name is not None:
            return FilterTarget(f"user__{field_name}", kind=kind)
        if path.lower().startswith("urn:"):
            urn, _sep, attribute = path.rpartition(":")
            return FilterTarget(f"document__{urn}__{attribute.replace('.', '__')}", kind=kind)
        return FilterTarget("document__" + path.replace(".", "__"), kind=kind)

    def to_resource(self, obj: ScimUser, query: Query) -> dict[str, Any]:
        document = self.attribute_map.overlay(obj.document, obj.user)
        resource: dict[str, Any] = {"schemas": schemas_of(document, urns.USER), "id": str(obj.scim_id)}
        if obj.external_id:
            resource["externalId"] = obj.external_id
        resource.update(document)
        resource["meta"] = self.meta(obj)
        return resource


class GroupService(ResourceService):
    model = ScimGroup
    resource_type = "Group"
    endpoint = "Groups"
    core_schema = urns.GROUP
    locked_relations = ("group",)  # renamed and deleted with it; reads need only its id
    scope_method = "scope_groups"
    lookups = resource_lookups(ScimGroup, joined=(), locked=("group",))

    def scoped(self) -> models.QuerySet[ScimGroup]:
        return self.adapter.scope_groups(self.base_queryset(), self.context.integration)

    #: The members a group lists (:meth:`members_of`), as a relation ``members.value`` filters on.
    LISTED_MEMBERS = "listed_member"

    def filter_map(self) -> dict[str, FilterTarget]:
        member = f"{self.LISTED_MEMBERS}__scim_id"
        return {
            "id": id_target(),
            "displayname": FilterTarget("display_name_key", case_exact=True, normalize=fold),
            "externalid": FilterTarget("external_id", case_exact=True),
            "members.value": FilterTarget(member, case_exact=True, normalize=parse_scim_id),
            **meta_targets(),
        }

    def apply_filter(self, queryset: models.QuerySet, condition: models.Q) -> models.QuerySet:
        """``members.value`` joins the membership table, where a group matching through several
        members would be one row per member: the matching ids are selected in a subquery, so each
        group is counted and listed once (still one query, no ``DISTINCT`` over the document).

        The join reaches only the members the group lists: this integration's users that it
        has not deleted, so a filter never finds a group through a member it does not show.
        """
        identity = f"group__{member_query_name()}__scim_identity"
        listed = models.FilteredRelation(identity, condition=models.Q(**{
            f"{identity}__integration": self.context.integration, f"{identity}__deleted_at": None}))
        matching = queryset.annotate(**{self.LISTED_MEMBERS: listed}).filter(condition)
        return queryset.filter(pk__in=matching.values("pk"))

    def render_many(self, rows: list, query: Query) -> list[dict[str, Any]]:
        members: dict[int, list[dict[str, Any]]] | None = None
        if rows and wants("members", attributes=query.attributes, excluded=query.excluded):
            members = self.members_of([row.group_id for row in rows])
        resources = []
        for row in rows:
            resource = self.to_resource(row, query)
            if members is not None:
                resource["members"] = members.get(row.group_id, [])
            resources.append(self.project(resource, query))
        return resources

    def members_of(self, group_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """Members of several groups in one query: the SCIM users of this integration in them."""
        queryset = (
            ScimUser.objects.filter(integration=self.context.integration, deleted_at=None)
            .filter(**{f"user__{app_settings.USER_GROUPS_FIELD}__in": list(group_ids)})
            .order_by("id")
        )
        rows = queryset.values_list(f"user__{app_settings.USER_GROUPS_FIELD}", "scim_id")
        users = f"{self.base_url}/Users/"
        result: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for group_id, scim_id in rows:
            # RFC 7643 8.7.1: value, $ref and type; no display (the group schema defines none).
            result[group_id].append({"value": scim_id, "$ref": users + scim_id, "type": "User"})
        return result

    def to_resource(self, obj: ScimGroup, query: Query) -> dict[str, Any]:
        document = dict(obj.document)
        resource: dict[str, Any] = {"schemas": schemas_of(document, urns.GROUP), "id": str(obj.scim_id)}
        if obj.external_id:
            resource["externalId"] = obj.external_id
        resource.update(document)
        resource["displayName"] = obj.display_name
        resource["meta"] = self.meta(obj)
        return resource


def groups_field() -> models.ManyToManyField:
    field = get_user_model()._meta.get_field(app_settings.USER_GROUPS_FIELD)
    if not isinstance(field, models.ManyToManyField):
        raise BadRequest("USER_GROUPS_FIELD is not a many-to-many field")
    return field


def membership_through() -> type[models.Model]:
    return groups_field().remote_field.through


def membership_columns() -> tuple[str, str]:
    """Attribute names (``*_id``) of the user and group foreign keys on the through model."""
    field = groups_field()
    return f"{field.m2m_field_name()}_id", f"{field.m2m_reverse_field_name()}_id"


def member_query_name() -> str:
    """The name a group uses to query its users through the M2M field (``user`` for auth.User)."""
    return groups_field().related_query_name()
