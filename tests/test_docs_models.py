"""docs/models.md names real fields: every backticked name in a model's field table exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps

DOC = Path(__file__).resolve().parent.parent / "docs" / "models.md"


def documented_fields() -> list[tuple[tuple[str, ...], str]]:
    """(models of the section, field name) for each backticked name in a table's first column.

    A section may speak of two models ("ScimUser and ScimGroup"); a name must then
    be a field of at least one of them.
    """
    pairs: list[tuple[tuple[str, ...], str]] = []
    models: tuple[str, ...] = ()
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            models = tuple(m.strip() for m in line[3:].split(" and "))
        elif line.startswith("| `") and models:
            pairs += [(models, name) for name in re.findall(r"`([a-z_]+)`", line.split("|")[1])]
    return pairs


PAIRS = documented_fields()


def test_the_page_documents_every_public_model():
    documented = {model for models, _ in PAIRS for model in models}
    assert {"Integration", "ScimUser", "ScimGroup", "ScimToken", "ProvisioningLog"} <= documented


@pytest.mark.parametrize(("models", "name"), PAIRS, ids=[f"{'/'.join(m)}.{n}" for m, n in PAIRS])
def test_documented_field_exists(models, name):
    names = {f.name for model in models for f in apps.get_model("scim_portal", model)._meta.get_fields()}
    assert name in names, f"docs/models.md names {' or '.join(models)}.{name}, which does not exist"
