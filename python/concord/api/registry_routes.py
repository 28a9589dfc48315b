"""The Domain Registry over HTTP (spec 36, 115, 116) and the agent gateway's route (spec 36
"Agent action"). Every route is one call of the Python client as the caller (the
:data:`~concord.api.principal.Caller`): one SQL function, or one SELECT of a granted view,
so the database decides who may see or change what. An entity or version the caller may not
see is a 404, as one that does not exist.

The lifecycle routes answer what their SQL function answers: publication, binding,
rollback and (non-emergency) retirement are governed commands a worker's DBOS workflow runs,
so they answer ``{command_id, command_status, approval_id, result, error}`` at once and the
change is made when the command has run (``GET /commands/{command_id}``).
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from . import problems
from .principal import Caller

router = APIRouter(tags=["registry"])
READ = problems.responses(*problems.CALLER)
CHANGE = problems.responses(*problems.CHANGE)

ENTITY_TYPE = Field(description="A registry type: command_type, skill, tool, connector, ...")


class EntityRequest(BaseModel):
    """A registry entity to create (``concord.create_registry_entity``)."""

    model_config = ConfigDict(extra="forbid")
    entity_type: str = ENTITY_TYPE
    name: str = Field(description="Its name, unique within its type.")
    display_name: str = Field(description="Its name for people.")
    owner: str = Field(description="The team or person answerable for it.")
    description: str | None = Field(default=None, description="What it is for.")
    domain: str | None = Field(default=None, description="The business domain it belongs to.")
    organisation: str | None = Field(
        default=None,
        description="The organisation it belongs to (default: the Concord-Project's).",
    )


class VersionRequest(BaseModel):
    """A draft version to create (``concord.create_registry_version``)."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(description="Its semantic version, MAJOR.MINOR.PATCH.")
    manifest: dict[str, Any] = Field(description="The manifest, checked against its type.")
    artifact_refs: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Artifacts it ships: [{artifact_type, artifact_uri, checksum, metadata}].",
    )


class BindRequest(BaseModel):
    """Where a published version applies (``concord.bind_registry_version``)."""

    model_config = ConfigDict(extra="forbid")
    binding_scope: str = Field(
        description="user, team, tenant, workflow_type, command_type, agent_role, agent_name, "
        "app, environment or global."
    )
    binding_target: str | None = Field(
        default=None, description="Who or what the scope names (none for global)."
    )
    environment: str | None = Field(
        default=None, description="The environment (default: the database's)."
    )
    rollout_strategy: Literal["pinned", "canary"] = Field(
        default="pinned", description="pinned or canary."
    )
    rollout_config: dict[str, Any] | None = Field(
        default=None,
        description='A canary\'s {"percent": 0-100, "subject": "user" | "tenant" | "app"}.',
    )


class ReasonRequest(BaseModel):
    """Why (``concord.deprecate_registry_version``, ``concord.reject_registry_version``)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(description="Why, recorded with the change.")


class RetireRequest(BaseModel):
    """A retirement (``concord.retire_registry_version``)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(description="Why, recorded with the change and sent to the owners.")
    emergency: bool = Field(
        default=False,
        description="Retire at once, in this request, and record an incident.",
    )
    migrate_to_version_id: UUID | None = Field(
        default=None,
        description="A published version of the same entity its bindings move to "
        "(default: they are disabled).",
    )


class RollbackRequest(BaseModel):
    """A rollback (``concord.rollback_registry_binding``)."""

    model_config = ConfigDict(extra="forbid")
    target_version_id: UUID = Field(
        description="A published or deprecated version of the binding's entity."
    )
    reason: str = Field(description="Why, recorded with the change.")


class AgentActionRequest(BaseModel):
    """An agent's action (spec 17, 60): a tool call or a spawn."""

    model_config = ConfigDict(extra="forbid")
    agent_run_id: UUID = Field(description="The acting run: the one whose secret authenticates.")
    action_type: Literal["tool_call", "spawn_subagent"] = Field(
        default="tool_call", description="tool_call (or spawn_subagent)."
    )
    tool_name: str | None = Field(
        default=None, description="A tool in the run's allowed_tools (required for tool_call)."
    )
    payload: dict[str, Any] = Field(default_factory=dict, description="The tool's input.")
    reason: str | None = Field(default=None, description="Why the agent acts.")
    risk_level: Literal["low", "medium", "high", "critical"] | None = Field(
        default=None, description="The agent's own estimate of the risk."
    )
    expected_output: Any = Field(default=None, description="What the agent expects back.")
    idempotency_key: str | None = Field(
        default=None, description="The same key again answers the same step."
    )
    metadata: dict[str, Any] | None = Field(default=None, description="Free metadata.")
    swarm_run_id: UUID | None = Field(
        default=None, description="The run's own swarm run, if named."
    )


# -- reads ---------------------------------------------------------------------------


@router.get("/registry/entities", responses=READ)
def list_entities(
    client: Caller,
    entity_type: str | None = Query(default=None, alias="type", description="Only this type."),
    name: str | None = Query(default=None, description="Only this name."),
    organisation: str | None = Query(default=None, description="Only this organisation's."),
) -> list[dict[str, Any]]:
    """The registry entities the caller may see, by type and name, with how many versions
    each has, its latest and its published ones (``concord.registry_entity_versions``:
    platform entities and those of the caller's organisations; an entity is listed once it
    has a version)."""
    return client.registry_entities(entity_type, name, organisation)


@router.get("/registry/entities/{entity_type}/{name}", responses=READ)
def get_entity(entity_type: str, name: str, client: Caller) -> dict[str, Any]:
    """One entity: its versions with status, change class, checksum and lifecycle times
    (``concord.registry_entity_versions``) and its active bindings
    (``concord.registry_active_bindings``); 404 for one the caller may not see."""
    return client.registry_entity(entity_type, name)


@router.get("/registry/versions/{version_id}", responses=READ)
def get_version(version_id: UUID, client: Caller) -> dict[str, Any]:
    """One version with its manifest, relationships and artifacts
    (``concord.registry_version``); 404 for one the caller may not see."""
    return client.registry_version(version_id)


@router.get("/registry/resolve", responses=CHANGE)
def resolve(
    client: Caller,
    entity_type: str = Query(description="The registry type to resolve."),
    name: str = Query(description="The entity's name."),
    workflow_type: str | None = Query(default=None, description="What the resolution is for."),
    command_type: str | None = Query(default=None, description="What the resolution is for."),
    environment: str | None = Query(default=None, description="Default: the database's."),
) -> dict[str, Any]:
    """The version of an entity in force for the caller (``concord.resolve_registry_entity``;
    ``concord.resolve_command_type_contract`` for a command type): ``{resolved, version_id,
    version, status, deprecated, manifest, checksum, binding, explanation}``. Who resolves
    (user, teams, tenant, app) is the token's principal in the Concord-Project; the query may
    add only what it is for (workflow_type, command_type). 409 (CN016) when nothing usable
    resolves."""
    context = {
        key: value
        for key, value in (("workflow_type", workflow_type), ("command_type", command_type))
        if value is not None
    }
    if entity_type == "command_type":
        return client.resolve_command_type_contract(name, context, environment)
    return client.resolve_registry_entity(entity_type, name, context, environment)


@router.get("/registry/impact", responses=READ)
def impact(
    client: Caller,
    entity_type: str = Query(description="The target's registry type."),
    name: str = Query(description="The target's name."),
    version: str | None = Query(default=None, description="Only edges whose range holds it."),
) -> list[dict[str, Any]]:
    """What breaks if a capability changes (``concord.registry_impact``): every published or
    deprecated version that depends on it, transitively, with its active bindings."""
    return client.registry_impact(entity_type, name, version)


# -- changes (an owner or admin of the entity's organisation) ----------------------


@router.post("/registry/entities", status_code=201, responses=CHANGE)
def create_entity(request: EntityRequest, client: Caller) -> dict[str, Any]:
    """Create a registry entity (``concord.create_registry_entity``): an owner or admin of
    its organisation (403 otherwise); creating it again answers the same id."""
    entity_id = client.create_registry_entity(
        request.entity_type,
        request.name,
        request.display_name,
        request.owner,
        description=request.description,
        domain=request.domain,
        organisation=request.organisation,
    )
    return {"entity_id": entity_id, "entity_type": request.entity_type, "name": request.name}


@router.post("/registry/entities/{entity_type}/{name}/versions", status_code=201, responses=CHANGE)
def create_version(
    entity_type: str, name: str, request: VersionRequest, client: Caller
) -> dict[str, Any]:
    """Create a draft version (``concord.create_registry_version``): its manifest checked
    against its type (422 listing every problem), its number against its change (409,
    CN017)."""
    version_id = client.create_registry_version(
        entity_type, name, request.version, request.manifest, artifact_refs=request.artifact_refs
    )
    return {"version_id": version_id, "entity_type": entity_type, "name": name}


@router.post("/registry/versions/{version_id}/publish", responses=CHANGE)
def publish_version(version_id: UUID, client: Caller) -> dict[str, Any]:
    """Publish a version, validated first when a draft (``concord.publish_registry_version``):
    a command a worker runs; a high-risk version first waits for another owner's approval."""
    return client.publish_registry_version(version_id)


@router.post("/registry/versions/{version_id}/bind", responses=CHANGE)
def bind_version(version_id: UUID, request: BindRequest, client: Caller) -> dict[str, Any]:
    """Bind a published version at a scope (``concord.bind_registry_version``): a command a
    worker runs; its result holds the binding_id."""
    return client.bind_registry_version(
        version_id,
        request.binding_scope,
        request.binding_target,
        environment=request.environment,
        rollout_strategy=request.rollout_strategy,
        rollout_config=request.rollout_config,
    )


@router.post("/registry/versions/{version_id}/deprecate", responses=CHANGE)
def deprecate_version(version_id: UUID, request: ReasonRequest, client: Caller) -> dict[str, Any]:
    """Deprecate a published version (``concord.deprecate_registry_version``): it still
    resolves, with a warning, and takes no new binding."""
    return client.deprecate_registry_version(version_id, request.reason)


@router.post("/registry/versions/{version_id}/retire", responses=CHANGE)
def retire_version(version_id: UUID, request: RetireRequest, client: Caller) -> dict[str, Any]:
    """Retire a version (``concord.retire_registry_version``): it never resolves again, its
    bindings move to migrate_to_version_id or are disabled; at once with emergency."""
    return client.retire_registry_version(
        version_id,
        request.reason,
        emergency=request.emergency,
        migrate_to_version_id=request.migrate_to_version_id,
    )


@router.post("/registry/versions/{version_id}/reject", responses=CHANGE)
def reject_version(version_id: UUID, request: ReasonRequest, client: Caller) -> dict[str, Any]:
    """Withdraw a version that is not published, for good
    (``concord.reject_registry_version``)."""
    return client.reject_registry_version(version_id, request.reason)


@router.post("/registry/bindings/{binding_id}/rollback", responses=CHANGE)
def rollback_binding(binding_id: UUID, request: RollbackRequest, client: Caller) -> dict[str, Any]:
    """Point an active binding back at a prior version of its entity
    (``concord.rollback_registry_binding``): a command a worker runs."""
    return client.rollback_registry_binding(binding_id, request.target_version_id, request.reason)


# -- the agent gateway ---------------------------------------------------------------


@router.post("/agent-actions", tags=["agents"], responses=CHANGE)
def agent_action(request: AgentActionRequest, client: Caller) -> dict[str, Any]:
    """An agent's action through the gateway (``concord.submit_agent_action``), sent by the
    agent with its run's secret as the credential: ``Authorization: Bearer car_...`` (what
    ``concord.begin_agent_run`` handed out; the run id alone lets nobody act as the agent,
    and a person's token is refused, 403 ``an_agent_acts_with_its_run_secret``). A tool in
    the run's allowed_tools becomes a command of its type requested by ``agent:<run id>``,
    through validation and policy. Answers ``{decision (allowed, queued, require_approval,
    require_input, denied, invalid), command_id, approval_id, message, status, reasons,
    code, output, step_index}``; a refusal by scope is an answer (``denied``, CN004), a spent
    step budget 409 (CN010)."""
    action = request.model_dump(mode="json", exclude_none=True)
    return client.submit_agent_action(request.agent_run_id, action)
