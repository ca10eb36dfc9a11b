"""SCIM endpoints (RFC 7644 section 3).  Each view reads: authenticate, let the
integration's IdP dialect reshape the body, apply through the provisioning write
path, render."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response

from scim_portal.api.base import ScimView, base_url
from scim_portal.conf import app_settings
from scim_portal.exceptions import (
    BadRequest,
    InvalidSyntax,
    InvalidValue,
    NotFound,
    NotImplementedByServer,
)
from scim_portal.resources import GroupService, Query, ResourceService, UserService
from scim_portal.scim import codec, discovery, urns
from scim_portal.scim.filters import parse_attribute_list

#: Paging numbers above this are clamped to it (databases refuse larger offsets).
MAX_PAGING_NUMBER = 2**31 - 1


def parse_int(value: Any, name: str, *, minimum: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidValue(_("%s must be an integer.") % name) from None
    return min(max(number, minimum), MAX_PAGING_NUMBER)


def query_from(params: Any) -> Query:
    """RFC 7644 3.4.2 query parameters (names compared without regard to case)."""
    lowered = {str(k).lower(): v for k, v in params.items()}
    start = parse_int(lowered.get("startindex"), "startIndex", minimum=1) or 1
    count = parse_int(lowered.get("count"), "count", minimum=0)
    sort_order = str(lowered.get("sortorder") or "ascending")
    if sort_order.lower() not in ("ascending", "descending"):
        raise InvalidValue(_("sortOrder must be 'ascending' or 'descending'."))
    filter_text = lowered.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise InvalidValue(_("filter must be a string."))
    return Query(
        filter=filter_text or None,
        start_index=start,
        count=count,
        sort_by=lowered.get("sortby") or None,
        sort_order=sort_order,
        attributes=attribute_list(lowered.get("attributes")),
        excluded=attribute_list(lowered.get("excludedattributes")),
    )


def attribute_list(value: Any) -> list[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str):
        raise InvalidValue(_("attributes must be a comma-separated string or a list."))
    return parse_attribute_list(value, max_length=app_settings.MAX_FILTER_LENGTH)


def names_attributes(request: Request) -> bool:
    """Whether the request carries ``attributes`` or ``excludedAttributes`` (RFC 7644 3.9)."""
    return any(str(name).lower() in ("attributes", "excludedattributes") for name in request.query_params)


def patch_response(service: ResourceService, obj, request: Request, status: int) -> Response:
    """RFC 7644 3.5.2: 200 with the entire resource, or 204; 200 whenever the request names attributes."""
    if status == 204 and not names_attributes(request):
        return Response(status=204, headers={"ETag": obj.etag})
    return resource_response(service, obj, request)


def if_match(request: Request) -> str | None:
    return request.META.get("HTTP_IF_MATCH")


def resource_response(service: ResourceService, obj, request: Request, status: int = 200) -> Response:
    query = query_from(request.query_params)
    response = Response(service.render(obj, query), status=status)
    response["ETag"] = obj.etag
    if status == 201:
        response["Location"] = service.location(obj)
    return response


class ResourceListView(ScimView):
    service_class: type[ResourceService]

    def service(self) -> ResourceService:
        return self.service_class(self.scim, base_url(self.request))

    def get(self, request: Request) -> Response:
        return Response(self.service().search(query_from(request.query_params)).to_dict())


class ResourceSearchView(ResourceListView):
    """``POST /<Resource>/.search`` (RFC 7644 3.4.3)."""

    read_only_post = True

    def post(self, request: Request) -> Response:
        body = self.request.data
        if not isinstance(body, dict):
            raise InvalidSyntax(_("The search request must be a JSON object."))
        schemas = body.get("schemas")
        if isinstance(schemas, str):
            schemas = [schemas]
        if schemas is not None and (not isinstance(schemas, list) or urns.SEARCH_REQUEST not in schemas):
            raise InvalidSyntax(_("The search request must use the SearchRequest schema."))
        return Response(self.service().search(query_from(body)).to_dict())


class UsersView(ResourceListView):
    service_class = UserService
    resource_type = "User"

    def post(self, request: Request) -> Response:
        provisioner = self.provisioner()
        body = self.scim.dialect.prepare_resource(request.data, codec.user_resource_type())
        scim_user = self.record(provisioner.create_user(body), provisioner)
        return resource_response(provisioner.users, scim_user, request, status=201)


class UserView(ScimView):
    resource_type = "User"

    def get(self, request: Request, scim_id: str) -> Response:
        service = UserService(self.scim, base_url(request))
        obj = self.record(service.get(scim_id))
        response = resource_response(service, obj, request)
        if request.META.get("HTTP_IF_NONE_MATCH") == obj.etag:
            return Response(status=304, headers={"ETag": obj.etag})
        return response

    def put(self, request: Request, scim_id: str) -> Response:
        provisioner = self.provisioner()
        body = self.scim.dialect.prepare_resource(request.data, codec.user_resource_type())
        obj = self.record(provisioner.replace_user(scim_id, body, if_match(request)), provisioner)
        return resource_response(provisioner.users, obj, request)

    def patch(self, request: Request, scim_id: str) -> Response:
        provisioner = self.provisioner()
        body = self.scim.dialect.prepare_patch(request.data, codec.user_resource_type())
        obj = self.record(provisioner.patch_user(scim_id, body, if_match(request)), provisioner)
        return patch_response(provisioner.users, obj, request, self.scim.dialect.user_patch_status)

    def delete(self, request: Request, scim_id: str) -> Response:
        provisioner = self.provisioner()
        self.record(provisioner.delete_user(scim_id, if_match(request)), provisioner)
        return Response(status=204)


class GroupsView(ResourceListView):
    service_class = GroupService
    resource_type = "Group"

    def post(self, request: Request) -> Response:
        provisioner = self.provisioner()
        body = self.scim.dialect.prepare_resource(request.data, codec.group_resource_type())
        scim_group = self.record(provisioner.create_group(body), provisioner)
        return resource_response(provisioner.groups, scim_group, request, status=201)


class GroupView(ScimView):
    resource_type = "Group"

    def get(self, request: Request, scim_id: str) -> Response:
        service = GroupService(self.scim, base_url(request))
        obj = self.record(service.get(scim_id))
        return resource_response(service, obj, request)

    def put(self, request: Request, scim_id: str) -> Response:
        provisioner = self.provisioner()
        body = self.scim.dialect.prepare_resource(request.data, codec.group_resource_type())
        obj = self.record(provisioner.replace_group(scim_id, body, if_match(request)), provisioner)
        return resource_response(provisioner.groups, obj, request)

    def patch(self, request: Request, scim_id: str) -> Response:
        provisioner = self.provisioner()
        body = self.scim.dialect.prepare_patch(request.data, codec.group_resource_type())
        obj = self.record(provisioner.patch_group(scim_id, body, if_match(request)), provisioner)
        return patch_response(provisioner.groups, obj, request, self.scim.dialect.group_patch_status)

    def delete(self, request: Request, scim_id: str) -> Response:
        provisioner = self.provisioner()
        self.record(provisioner.delete_group(scim_id, if_match(request)), provisioner)
        return Response(status=204)


class UserSearchView(ResourceSearchView):
    service_class = UserService
    resource_type = "User"


class GroupSearchView(ResourceSearchView):
    service_class = GroupService
    resource_type = "Group"


class RootSearchView(ScimView):
    """``POST /.search`` across resource types is not offered (RFC 7644 3.4.3 makes it optional)."""

    read_only_post = True

    def post(self, request: Request) -> Response:
        raise NotImplementedByServer(_("Search at the root is not supported; use /Users/.search or /Groups/.search."))


class NotImplementedView(ScimView):
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotImplementedByServer(_("This endpoint is not implemented."))

    post = put = patch = delete = get


class UnknownView(ScimView):
    """Any other path under the SCIM base URL: a SCIM 404, never an HTML page."""

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound(_("No SCIM endpoint at %s.") % request.path)

    post = put = patch = delete = get


class RootView(ScimView):
    def get(self, request: Request) -> Response:
        raise BadRequest(_("This is the SCIM base URL; use /Users, /Groups or /ServiceProviderConfig."))


class ServiceProviderConfigView(ScimView):
    def get(self, request: Request) -> Response:
        return Response(discovery.service_provider_config(base_url(request)))


class SchemasView(ScimView):
    def get(self, request: Request, schema_id: str | None = None) -> Response:
        if schema_id is None:
            return Response(discovery.list_response(discovery.schemas(base_url(request))))
        return Response(discovery.schema(schema_id, base_url(request)))


class ResourceTypesView(ScimView):
    def get(self, request: Request, name: str | None = None) -> Response:
        if name is None:
            return Response(discovery.list_response(discovery.resource_types(base_url(request))))
        return Response(discovery.resource_type(name, base_url(request)))
