"""The operation catalog (spec 31): operations and compensations declare the effects they
produce; at worker start :meth:`Catalog.validate` checks the effect/compensation graph
(spec 31.2) against the runtime's capabilities (spec 41) and the worker refuses to start
with every problem listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .error_classes import CatalogError
from .retry import DEFAULT_POLICY, RetryPolicy


class RuntimeCapability(StrEnum):
    """Spec 41."""

    DURABLE_WORKFLOWS = "durable_workflows"
    DURABLE_STEPS = "durable_steps"
    QUEUES = "queues"
    SCHEDULES = "schedules"
    SIGNALS = "signals"
    SUBWORKFLOWS = "subworkflows"
    EFFECT_INTERCEPTION = "effect_interception"
    SAGA_COMPENSATION_NATIVE = "saga_compensation_native"
    WORKFLOW_VERSIONING = "workflow_versioning"


# Spec 41's matrix for the DBOS adapter (SIGNALS is only partial there: not declared).
DBOS_CAPABILITIES = frozenset(
    {
        RuntimeCapability.DURABLE_WORKFLOWS,
        RuntimeCapability.DURABLE_STEPS,
        RuntimeCapability.QUEUES,
        RuntimeCapability.SCHEDULES,
        RuntimeCapability.SUBWORKFLOWS,
        RuntimeCapability.EFFECT_INTERCEPTION,
    }
)

DEFAULT_MAX_DEPTH = 2
KNOWN_QUEUES = (
    "concord_default",
    "connector_calls",
    "agent_runs",
    "swarm_children",
    "notifications",
    "scheduled_maintenance",
)


@dataclass(frozen=True)
class ExternalCall:
    """A declared effect (spec 31.1). ``inverse_of`` names the effect type this one
    counters, for compensations declared ``counter_effects=True``."""

    effect_type: str
    inverse_of: str | None = None


def _effects(declared: Iterable[Any] | None) -> tuple[ExternalCall, ...]:
    out = []
    for item in declared or ():
        if isinstance(item, ExternalCall):
            out.append(item)
        elif isinstance(item, str):
            out.append(ExternalCall(item))
        else:
            raise TypeError(f"an effect declaration is a str or ExternalCall, not {item!r}")
    return tuple(out)


def _effects_json(effects: tuple[ExternalCall, ...]) -> list[Any]:
    return [
        e.effect_type
        if e.inverse_of is None
        else {"effect_type": e.effect_type, "inverse_of": e.inverse_of}
        for e in effects
    ]


def queue_for(produces: tuple[ExternalCall, ...]) -> str:
    """Spec 10/83: the semantic queue of an operation from the effects it produces (the
    queue of its first effect type; concord_default when it produces none)."""
    if not produces:
        return "concord_default"
    effect_type = produces[0].effect_type
    for prefix, queue in (
        ("connector.", "connector_calls"),
        ("agent.run", "agent_runs"),
        ("agent.spawn", "swarm_children"),
        ("notification.", "notifications"),
    ):
        if effect_type.startswith(prefix):
            return queue
    return "concord_default"


@dataclass
class Operation:
    command_type: str
    fn: Callable[..., Any]
    produces: tuple[ExternalCall, ...]
    requires_compensation: bool
    retry: RetryPolicy
    requires: frozenset[RuntimeCapability]
    queue: str

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"


@dataclass
class Compensation:
    name: str
    fn: Callable[..., Any]
    of: str  # the name of the operation's command type or of another compensation
    produces: tuple[ExternalCall, ...]
    counter_effects: bool
    requires_compensation: bool
    retry: RetryPolicy
    requires: frozenset[RuntimeCapability] = field(default_factory=frozenset)


class Catalog:
    """Operations by command type and compensations by what they compensate."""

    def __init__(self) -> None:
        self.operations: dict[str, Operation] = {}
        self.compensations: dict[str, Compensation] = {}  # by name
        self._registration_problems: list[str] = []

    # -- registration ------------------------------------------------------
    def operation(
        self,
        command_type: str,
        *,
        produces: Iterable[Any] | None = None,
        requires_compensation: bool = False,
        retry: RetryPolicy | None = None,
        requires: Iterable[RuntimeCapability | str] = (),
        queue: str | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register ``fn(ctx, payload) -> dict`` as the code that executes
        ``command_type``. Its return value becomes the command's result."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            effects = _effects(produces)
            if command_type in self.operations and self.operations[command_type].fn is not fn:
                self._registration_problems.append(
                    f"command type {command_type} has two operations: "
                    f"{self.operations[command_type].name} and {fn.__module__}.{fn.__qualname__}"
                )
            self.operations[command_type] = Operation(
                command_type=command_type,
                fn=fn,
                produces=effects,
                requires_compensation=requires_compensation,
                retry=retry or DEFAULT_POLICY,
                requires=frozenset(RuntimeCapability(r) for r in requires),
                queue=queue or queue_for(effects),
            )
            fn.__concord_operation__ = command_type  # type: ignore[attr-defined]
            return fn

        return register

    def compensation(
        self,
        *,
        of: Any,
        produces: Iterable[Any] | None = None,
        counter_effects: bool = True,
        requires_compensation: bool = False,
        retry: RetryPolicy | None = None,
        name: str | None = None,
        requires: Iterable[RuntimeCapability | str] = (),
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register ``fn(ctx, effect) -> dict | None`` as the compensation of an operation
        (``of`` = its function or command type) or of another compensation (its function
        or name). It runs once per succeeded effect of that operation, newest first."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            target = (
                getattr(of, "__concord_operation__", None)
                or getattr(of, "__concord_compensation__", None)
                or (of if isinstance(of, str) else None)
            )
            if target is None:
                raise TypeError(
                    f"compensation {fn.__qualname__}: `of` must be an operation, a compensation "
                    f"or a name, not {of!r}"
                )
            comp_name = name or f"{fn.__module__}.{fn.__qualname__}"
            if comp_name in self.compensations and self.compensations[comp_name].fn is not fn:
                self._registration_problems.append(f"two compensations are named {comp_name}")
            self.compensations[comp_name] = Compensation(
                name=comp_name,
                fn=fn,
                of=target,
                produces=_effects(produces),
                counter_effects=counter_effects,
                requires_compensation=requires_compensation,
                retry=retry or DEFAULT_POLICY,
                requires=frozenset(RuntimeCapability(r) for r in requires),
            )
            fn.__concord_compensation__ = comp_name  # type: ignore[attr-defined]
            return fn

        return register

    # -- lookups -----------------------------------------------------------
    def compensation_of(self, target: str) -> Compensation | None:
        """The compensation registered for an operation's command type or a compensation."""
        found = [c for c in self.compensations.values() if c.of == target]
        return found[0] if found else None

    def compensated_types(self, target: str) -> frozenset[str]:
        """The effect types of ``target`` (an operation or a compensation) that its
        compensation counters: the ``inverse_of`` of a counter-effects compensation's
        effects, otherwise every effect type ``target`` declares. Only effects of these
        types are compensated; other effects of the operation (a read, a notification)
        are left alone."""
        comp = self.compensation_of(target)
        if comp is None:
            return frozenset()
        if comp.counter_effects:
            inverted = frozenset(e.inverse_of for e in comp.produces if e.inverse_of)
            if inverted:
                return inverted
        return frozenset(e.effect_type for e in self.declared_effects(target))

    def declared_effects(self, node: str) -> tuple[ExternalCall, ...]:
        if node in self.operations:
            return self.operations[node].produces
        if node in self.compensations:
            return self.compensations[node].produces
        return ()

    # -- validation (spec 31.2) ---------------------------------------------
    def validate(
        self,
        capabilities: frozenset[RuntimeCapability] = DBOS_CAPABILITIES,
        *,
        max_depth: int = DEFAULT_MAX_DEPTH,
        known_queues: Iterable[str] = KNOWN_QUEUES,
    ) -> list[str]:
        """Every problem in the catalog, in a stable order (empty when it is runnable)."""
        problems = list(self._registration_problems)
        queues = set(known_queues)
        for op in sorted(self.operations.values(), key=lambda o: o.command_type):
            if op.queue not in queues:
                problems.append(f"operation {op.command_type}: unknown queue {op.queue}")
            if op.requires_compensation and self.compensation_of(op.command_type) is None:
                problems.append(
                    f"operation {op.command_type} requires compensation but none is registered"
                )
            missing = sorted(op.requires - capabilities)
            if missing:
                problems.append(
                    f"operation {op.command_type} needs runtime capabilities the runtime lacks: "
                    f"{', '.join(missing)}"
                )
        by_target: dict[str, list[str]] = {}
        for comp in sorted(self.compensations.values(), key=lambda c: c.name):
            by_target.setdefault(comp.of, []).append(comp.name)
            if comp.of not in self.operations and comp.of not in self.compensations:
                problems.append(f"compensation {comp.name} compensates unknown {comp.of}")
            if comp.requires_compensation and self.compensation_of(comp.name) is None:
                problems.append(
                    f"compensation {comp.name} requires compensation but none is registered"
                )
            missing = sorted(comp.requires - capabilities)
            if missing:
                problems.append(
                    f"compensation {comp.name} needs runtime capabilities the runtime lacks: "
                    f"{', '.join(missing)}"
                )
            if comp.counter_effects:
                parent = {e.effect_type for e in self.declared_effects(comp.of)}
                for effect in comp.produces:
                    if effect.inverse_of is None or effect.inverse_of not in parent:
                        problems.append(
                            f"compensation {comp.name} declares counter_effects=True but "
                            f"{effect.effect_type} is not the inverse of an effect of {comp.of} "
                            f"(declare ExternalCall({effect.effect_type!r}, inverse_of=...) "
                            f"naming one of {sorted(parent) or 'nothing: it produces none'})"
                        )
        for target, names in sorted(by_target.items()):
            if len(names) > 1:
                problems.append(f"{target} has {len(names)} compensations: {', '.join(names)}")
        problems.extend(self._depth_problems(max_depth))
        problems.extend(self._cycle_problems())
        return problems

    def _depth_problems(self, max_depth: int) -> list[str]:
        out = []
        for op in sorted(self.operations):
            chain = [op]
            node = op
            seen = {op}
            while (comp := self.compensation_of(node)) is not None and comp.name not in seen:
                chain.append(comp.name)
                seen.add(comp.name)
                node = comp.name
            depth = len(chain) - 1
            if depth > max_depth:
                out.append(
                    f"compensation chain of {op} is {depth} deep (max_depth {max_depth}): "
                    + " -> ".join(chain)
                )
        return out

    def _cycle_problems(self) -> list[str]:
        """Cycles in the effect -> compensation -> counter-effect graph: an effect type
        whose compensations eventually produce it again, or compensations of each other."""
        edges: dict[str, set[str]] = {}
        for comp in self.compensations.values():
            for parent_effect in self.declared_effects(comp.of):
                edges.setdefault(parent_effect.effect_type, set()).update(
                    e.effect_type for e in comp.produces
                )
        out: list[str] = []
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> None:
            state[node] = 1
            stack.append(node)
            for nxt in sorted(edges.get(node, ())):
                if state.get(nxt) == 1:
                    cycle = stack[stack.index(nxt) :] + [nxt]
                    out.append("cycle in the effect/compensation graph: " + " -> ".join(cycle))
                elif state.get(nxt) is None:
                    visit(nxt)
            stack.pop()
            state[node] = 2

        for node in sorted(edges):
            if state.get(node) is None:
                visit(node)
        # compensations that compensate each other (a ring of `of` links)
        for comp in sorted(self.compensations.values(), key=lambda c: c.name):
            seen = [comp.name]
            node = comp.of
            while node in self.compensations:
                if node in seen:
                    ring = seen[seen.index(node) :] + [node]
                    msg = "cycle of compensations: " + " -> ".join(ring)
                    if msg not in out and comp.name == min(ring):
                        out.append(msg)
                    break
                seen.append(node)
                node = self.compensations[node].of
        return out

    def check(self, capabilities: frozenset[RuntimeCapability] = DBOS_CAPABILITIES, **kw) -> None:
        """Raise :class:`CatalogError` listing every problem, if there is any."""
        problems = self.validate(capabilities, **kw)
        if problems:
            raise CatalogError(problems)

    def to_json(self) -> list[dict[str, Any]]:
        """The catalog ``concord.register_operations`` records: the operations, then the
        compensations (whose manifests the database checks as :meth:`validate` does, and
        compares with what each compensation began: spec 31.3)."""
        rows: list[dict[str, Any]] = []
        for op in sorted(self.operations.values(), key=lambda o: o.command_type):
            comp = self.compensation_of(op.command_type)
            rows.append(
                {
                    "command_type": op.command_type,
                    "queue": op.queue,
                    "function_name": op.name,
                    "produces": _effects_json(op.produces),
                    "requires_compensation": op.requires_compensation,
                    "compensation": comp.name if comp else None,
                    "retry_policy": op.retry.to_json(),
                    "requires": sorted(op.requires),
                }
            )
        for comp in sorted(self.compensations.values(), key=lambda c: c.name):
            rows.append(
                {
                    "name": comp.name,
                    "of": comp.of,
                    "function_name": f"{comp.fn.__module__}.{comp.fn.__qualname__}",
                    "produces": _effects_json(comp.produces),
                    "counter_effects": comp.counter_effects,
                    "requires_compensation": comp.requires_compensation,
                    "retry_policy": comp.retry.to_json(),
                    "requires": sorted(comp.requires),
                }
            )
        return rows

    def clear(self) -> None:
        self.operations.clear()
        self.compensations.clear()
        self._registration_problems.clear()


catalog = Catalog()
operation = catalog.operation
compensation = catalog.compensation
