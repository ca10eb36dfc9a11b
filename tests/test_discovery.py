from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_service_provider_config_states_capabilities(scim):
    body = scim.get("ServiceProviderConfig").json_body
    assert body["patch"]["supported"] is True
    assert body["filter"] == {"supported": True, "maxResults": 500}
    assert body["etag"]["supported"] is True
    assert body["sort"]["supported"] is True
    assert body["changePassword"]["supported"] is False
    assert body["bulk"]["supported"] is False
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_schemas_list_and_by_id(scim):
    body = scim.get("Schemas").json_body
    ids = {s["id"] for s in body["Resources"]}
    assert {"urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"} <= ids
    assert body["totalResults"] == len(body["Resources"])
    one = scim.get("Schemas/urn:ietf:params:scim:schemas:core:2.0:User").json_body
    assert one["meta"]["location"].endswith("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
    assert scim.get("Schemas/urn:nope").status_code == 404


def test_resource_types(scim):
    body = scim.get("ResourceTypes").json_body
    assert [r["id"] for r in body["Resources"]] == ["User", "Group"]
    assert scim.get("ResourceTypes/Group").json_body["endpoint"] == "/Groups"
    assert scim.get("ResourceTypes/Nope").status_code == 404


@pytest.mark.parametrize("path", ["Nope", "Users/x/y", "Bulk", "Me"])
def test_unknown_and_unimplemented_paths_answer_scim_json(scim, path):
    response = scim.get(path)
    assert response.status_code in (404, 501)
    assert response.json_body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_unknown_query_parameters_are_ignored(scim):
    """Entra appends ?aadOptscim062020 to the base URL."""
    assert scim.get("ServiceProviderConfig?aadOptscim062020").status_code == 200
