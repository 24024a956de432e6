"""States and transitions declared once, as data, with one entry point per kind of object.

Each stateful object (session, enrolment, …) declares a ``Machine``: which event moves it from which
states to which state. ``Machine.apply`` checks the move, sets the status and writes an audit event
named ``<machine>.<event>``. Views never assign ``.status``; services call their object's ``transition``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marketplace.models import User
from marketplace.services import audit
from marketplace.services.errors import DomainError


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    label: str  # French, for buttons and the audit log


@dataclass
class Machine:
    name: str
    status_labels: dict[str, str]
    transitions: dict[str, Transition] = field(default_factory=dict)

    def allowed(self, current: str) -> list[str]:
        return [event for event, t in self.transitions.items() if current in t.sources]

    def can(self, current: str, event: str) -> bool:
        t = self.transitions.get(event)
        return t is not None and current in t.sources

    def apply(
        self,
        obj,
        event: str,
        actor: User | None,
        *,
        organisation_id: int | None,
        reason: str | None = None,
        data: dict | None = None,
    ) -> str:
        """Move ``obj`` by ``event`` or refuse with a French message; returns the previous status."""
        transition = self.transitions.get(event)
        if transition is None:
            raise ValueError(f"Unknown event {event!r} for {self.name}")
        previous = obj.status
        if previous not in transition.sources:
            raise DomainError(
                f"Action impossible : « {transition.label} » n'est pas possible quand l'état est "
                f"« {self.status_labels.get(previous, previous)} »."
            )
        obj.status = transition.target
        audit.record(
            f"{self.name}.{event}",
            organisation_id=organisation_id,
            actor=actor,
            obj=obj,
            data={
                "from": previous,
                "to": transition.target,
                **({"reason": reason} if reason else {}),
                **(data or {}),
            },
        )
        return previous


def machine(
    name: str, status_labels: dict[str, str], **events: tuple[tuple[str, ...] | str, str, str]
) -> Machine:
    """Declare a machine: ``event=((sources…), target, "libellé")``."""
    transitions = {}
    for event, (sources, target, label) in events.items():
        if isinstance(sources, str):
            sources = (sources,)
        transitions[event] = Transition(frozenset(sources), target, label)
    return Machine(name, status_labels, transitions)
