"""Operations every worker carries: the maintenance commands schedules submit, the agent
gateway's approved commands and the registry's lifecycle workflows."""

from __future__ import annotations

from .catalog import operation
from .error_classes import ClassifiedError
from .workflows import state


def _expire_approvals() -> int:
    return state().db.scalar("SELECT concord.expire_approvals()")


@operation("concord.expire_approvals", queue="scheduled_maintenance")
def expire_approvals(ctx, payload: dict) -> dict:
    """Expire pending approvals whose time has passed (the expire_approvals schedule)."""
    return {"expired": ctx.step(_expire_approvals, name="concord.expire_approvals")}


# The agent gateway's own command types (spec 85.3): an approved spawn creates
# its child here, an approved memory write activates the memory, an approved
# swarm review settles the swarm. The SQL does the work and is idempotent.


def _agentic(command_id: str, workflow_id: str) -> dict:
    return state().db.scalar(
        "SELECT concord.runtime_agentic_command(%s, %s)", command_id, workflow_id
    )


def _run_agentic(ctx) -> dict:
    answer = ctx.step(_agentic, ctx.command_id, ctx.workflow_id, name="concord.agentic_command")
    refused = answer.get("refused") if isinstance(answer, dict) else None
    if refused:
        raise ClassifiedError(
            "; ".join(r.get("reason", "") for r in refused),
            error_class="policy_denied",
            detail={"refused": refused},
        )
    return answer


@operation("spawn_subagent")
def spawn_subagent(ctx, payload: dict) -> dict:
    """Create the child agent of a spawn a human approved (spec 59, 85.3)."""
    return _run_agentic(ctx)


@operation("concord.write_memory")
def write_memory(ctx, payload: dict) -> dict:
    """Activate a memory a human approved (spec 23)."""
    return _run_agentic(ctx)


@operation("concord.swarm_review")
def swarm_review(ctx, payload: dict) -> dict:
    """Settle a swarm whose joined result a human approved (join strategy human_review)."""
    return _run_agentic(ctx)


# The registry's lifecycle workflows (spec 113): publication, binding, rollback
# and retirement, once allowed (and approved when high-risk), run here. The one
# step is concord.runtime_registry_command, idempotent on replay: a step run
# again after a crash changes nothing and answers the same. The registry's
# other commands (create, validate, deprecate, reject) run inline in the
# kernel and have no operation, so no worker is ever handed one.

REGISTRY_WORKFLOWS = (
    "concord.registry.publish_version",
    "concord.registry.bind_version",
    "concord.registry.rollback_binding",
    "concord.registry.retire_version",
)


def _registry(command_id: str, workflow_id: str) -> dict:
    return state().db.scalar(
        "SELECT concord.runtime_registry_command(%s, %s)", command_id, workflow_id
    )


def _run_registry(ctx) -> dict:
    return ctx.step(_registry, ctx.command_id, ctx.workflow_id, name="concord.registry_command")


@operation("concord.registry.publish_version")
def registry_publish_version(ctx, payload: dict) -> dict:
    """Publish a registry version, approved first when it is high-risk (spec 111, 113)."""
    return _run_registry(ctx)


@operation("concord.registry.bind_version")
def registry_bind_version(ctx, payload: dict) -> dict:
    """Bind a published registry version at a scope (spec 112, 113)."""
    return _run_registry(ctx)


@operation("concord.registry.rollback_binding")
def registry_rollback_binding(ctx, payload: dict) -> dict:
    """Point a registry binding back at a prior version (spec 113)."""
    return _run_registry(ctx)


@operation("concord.registry.retire_version")
def registry_retire_version(ctx, payload: dict) -> dict:
    """Retire a registry version and notify its owners (spec 111.4, 113)."""
    return _run_registry(ctx)
