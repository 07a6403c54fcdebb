"""The liveness verdict of a two-phase run, computed from its log.

A run may have a faulty phase (anything goes; only safety is required) that
ends at ``liveness.heal_at``, and a healed phase in which some value must be
chosen by ``heal_at + bound``. "Chosen" means what the safety checker means:
a phase-2 quorum of honest voters voted for one value in one round (see
:class:`paxossim.checks.safety.SafetyCheck`), however the protocol counts its quorum.
"""

from __future__ import annotations

from typing import Any

from paxossim.checks.safety import Choice


def liveness_verdict(scenario: dict[str, Any], first: Choice | None) -> dict[str, Any]:
    """``verdict`` is ``ok`` or ``failed`` when a bound is set, else ``not-required``.

    ``took`` is the time from the heal to the first choice (0 when the value
    was chosen during the faulty phase already; without a heal, from time 0).
    """
    spec = scenario.get("liveness", {})
    heal_at = spec.get("heal_at")
    bound = spec.get("bound")
    required_by = heal_at + bound if heal_at is not None and bound is not None else None
    chosen_at = first.time if first is not None else None
    start = heal_at if heal_at is not None else 0.0
    took = None if chosen_at is None else max(0.0, chosen_at - start)
    if required_by is None:
        verdict = "not-required"
    else:
        verdict = "ok" if chosen_at is not None and chosen_at <= required_by else "failed"
    return {
        "verdict": verdict,
        "required": required_by is not None,
        "heal_at": heal_at,
        "required_by": required_by,
        "chosen_at": chosen_at,
        "took": took,
    }
