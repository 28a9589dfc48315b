"""Webhook ingress (spec 1: "any ... webhook"): ``POST /webhooks/{source}`` checks the
delivery's HMAC-SHA256 signature with the source's secret, then submits the event as a
command with ingress ``webhook`` and an idempotency key made of the source and the delivery
id, so a redelivered event is the same command.

Sources are configured in a YAML (or JSON) file, ``$CONCORD_WEBHOOKS`` or ``concord api
--webhooks PATH``; the file holds references only (``env://NAME``, ``file://PATH``), read
when a delivery arrives::

    sources:
      github:
        command_type: repo.push_received
        secret: env://GITHUB_WEBHOOK_SECRET   # the HMAC key both sides share
        token: env://GITHUB_SOURCE_TOKEN      # the API token of the principal it submits as
        signature_header: X-Hub-Signature-256 # default X-Concord-Signature: sha256=<hex>
        delivery_header: X-GitHub-Delivery    # default X-Concord-Delivery
        project: acme/main                    # optional: where its commands go

Who submits is the token's principal: the database decides what it may submit, as for any
caller; the signature only proves the delivery came from the source.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from ..secrets import is_secret_ref

SIGNATURE_HEADER = "X-Concord-Signature"
DELIVERY_HEADER = "X-Concord-Delivery"
MAX_BODY_BYTES = 1024 * 1024


class WebhookConfigError(ValueError):
    """The webhook sources file is unreadable or has problems (every one listed)."""


@dataclass(frozen=True)
class WebhookSource:
    name: str
    command_type: str
    secret: str
    token: str
    signature_header: str = SIGNATURE_HEADER
    delivery_header: str = DELIVERY_HEADER
    project: str | None = None


def load_sources(path: str | Path | None) -> dict[str, WebhookSource]:
    """The sources of the file at ``path`` (none when ``path`` is empty). Raises
    :class:`WebhookConfigError` listing every problem: a source without a command type, a
    secret or token that is not a reference, an unknown key."""
    if not path:
        return {}
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise WebhookConfigError(f"webhook sources {path}: {exc}") from None
    sources = (document or {}).get("sources") if isinstance(document, dict) else None
    if not isinstance(sources, dict):
        raise WebhookConfigError(f"webhook sources {path}: expected a 'sources' mapping")
    known = {f.name for f in fields(WebhookSource)} - {"name"}
    problems: list[str] = []
    loaded: dict[str, WebhookSource] = {}
    for name, spec in sources.items():
        where = f"sources.{name}"
        if not isinstance(spec, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        problems += [f"{where}.{key}: unknown key" for key in sorted(set(spec) - known)]
        if not isinstance(spec.get("command_type"), str) or not spec["command_type"].strip():
            problems.append(f"{where}.command_type: required")
        for key in ("secret", "token"):
            if not is_secret_ref(spec.get(key)):
                problems.append(
                    f"{where}.{key}: required, as a reference (env://NAME, file://PATH)"
                )
        for key in ("signature_header", "delivery_header", "project"):
            if key in spec and not (isinstance(spec[key], str) and spec[key].strip()):
                problems.append(f"{where}.{key}: must be a non-empty string")
        if not problems:
            loaded[str(name)] = WebhookSource(name=str(name), **{k: spec[k] for k in spec})
    if problems:
        raise WebhookConfigError(f"webhook sources {path}: " + "; ".join(problems))
    return loaded


def signature(secret: str, body: bytes) -> str:
    """The signature a sender puts in the signature header: ``sha256=<hex HMAC of body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_by(secret: str, body: bytes, presented: str | None) -> bool:
    """Whether ``presented`` is the signature of ``body`` under ``secret`` (constant time;
    compared as bytes, since a header may hold any character)."""
    return presented is not None and hmac.compare_digest(
        signature(secret, body).encode(), presented.encode("utf-8", "surrogateescape")
    )


def event(body: bytes) -> Any:
    """The delivery's JSON body; ``ValueError`` when it is not JSON (or nests too deep to
    parse)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("the JSON nests too deep") from None
