"""Operations every worker carries: the maintenance commands schedules submit."""

from __future__ import annotations

from .catalog import operation
from .workflows import state


def _expire_approvals() -> int:
    return state().db.scalar("SELECT concord.expire_approvals()")


@operation("concord.expire_approvals", queue="scheduled_maintenance")
def expire_approvals(ctx, payload: dict) -> dict:
    """Expire pending approvals whose time has passed (the expire_approvals schedule)."""
    return {"expired": ctx.step(_expire_approvals, name="concord.expire_approvals")}
