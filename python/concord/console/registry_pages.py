"""The console's registry pages: the entities the person may see, and one entity with its
versions (status, change class), a side-by-side diff of two versions' manifests, its
active bindings, what depends on it (impact) and a manifest preview."""

from __future__ import annotations

import difflib
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from .pages import Person, render

router = APIRouter(prefix="/console/registry", include_in_schema=False)


def _lines(manifest: Any) -> list[str]:
    return json.dumps(manifest, indent=2, sort_keys=True).splitlines()


def manifest_diff(left: dict[str, Any], right: dict[str, Any]) -> Markup:
    """Two versions' manifests side by side, changed lines marked (difflib escapes every
    line it prints, so a manifest's text cannot become markup)."""
    table = difflib.HtmlDiff(tabsize=2, wrapcolumn=70).make_table(
        _lines(left["manifest"]),
        _lines(right["manifest"]),
        f"{left['version']} ({left['status']})",
        f"{right['version']} ({right['status']})",
        context=True,
        numlines=3,
    )
    return Markup(table)


@router.get("")
def entities(request: Request, who: Person, entity_type: str | None = None) -> HTMLResponse:
    rows = who.client.registry_entities(entity_type or None)
    return render(request, "registry.html", who, entities=rows, entity_type=entity_type or "")


@router.get("/{entity_type}/{name}")
def entity(
    request: Request,
    entity_type: str,
    name: str,
    who: Person,
    left: str | None = None,
    right: str | None = None,
) -> HTMLResponse:
    """``left`` and ``right`` choose the versions to compare (default: the two newest)."""
    found = who.client.registry_entity(entity_type, name)
    versions = found["versions"]
    by_number = {v["version"]: v for v in versions}
    right_number = right if right in by_number else versions[-1]["version"]
    left_number = left if left in by_number else versions[max(len(versions) - 2, 0)]["version"]
    shown_right = who.client.registry_version(by_number[right_number]["version_id"])
    shown_left = (
        shown_right
        if left_number == right_number
        else who.client.registry_version(by_number[left_number]["version_id"])
    )
    impact = who.client._all(
        "SELECT * FROM concord.registry_impact(%s, %s, %s)", (entity_type, name, right_number)
    )
    return render(
        request,
        "registry_entity.html",
        who,
        entity=found,
        left=shown_left,
        right=shown_right,
        diff=manifest_diff(shown_left, shown_right) if left_number != right_number else None,
        impact=impact,
    )
