"""Replays a recorded IdP request sequence (tests/fixtures/idp/<idp>/*.json).

Each step names a method, a path (relative to the SCIM base), an optional body,
the status expected and a subset of the response body expected; ``{name}``
placeholders are filled from values captured from earlier responses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "idp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def load(idp: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / idp / f"{name}.json").read_text())


def fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: names.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if isinstance(value, dict):
        return {fill(k, names): fill(v, names) for k, v in value.items()}
    return value


def contains(actual: Any, expected: Any) -> bool:
    """``expected`` is a subset of ``actual`` (dict keys, list elements matched anywhere)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return False
        if not expected:
            return actual == []
        return all(any(contains(a, e) for a in actual) for e in expected)
    return actual == expected


def replay(client, idp: str, name: str = "lifecycle") -> dict[str, str]:
    script = load(idp, name)
    names: dict[str, str] = {}
    for step in script["steps"]:
        step = fill(step, names)
        response = client.request(step["method"], step["path"], step.get("body"))
        body = response.json_body
        where = f"{idp}/{name}: {step['name']}"
        assert response.status_code == step["status"], f"{where}: {response.status_code} {body}"
        if response.status_code >= 400:
            assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], where
        if "expect" in step:
            assert contains(body, step["expect"]), f"{where}: {json.dumps(body, indent=1)}"
        for key in step.get("absent", []):
            assert key not in body, f"{where}: {key} present"
        for key in step.get("first_absent", []):
            assert key not in body["Resources"][0], f"{where}: {key} present"
        if step.get("absent_ext_manager"):
            assert "manager" not in body.get(ENTERPRISE, {}), where
        if "expect_members" in step:
            group = client.get(f"Groups/{step['path'].split('/')[-1]}").json_body
            got = sorted(m["value"] for m in group.get("members", []))
            assert got == sorted(step["expect_members"]), f"{where}: {got}"
        for var, key in step.get("capture", {}).items():
            names[var] = body[key]
    return names
