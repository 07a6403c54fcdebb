"""Twin placements and phases drawn per seed, for ``explore --swarm-twins N``.

Twins is a search: which nodes run as two copies, and which instances talk to
which, phase after phase (Bano et al. enumerate these; we draw them). Each
seed draws, from its own stream ``swarm:twins`` (so the other swarm knobs keep
their draws), ``N`` of the protocol's voters to twin and one to three phases,
each splitting every instance (nodes and copies, clients too) into two
groups at random. The draws are ``--set`` overrides of ``twins.nodes`` and
``twins.phases``, printed with a failing seed, so the command reproduces it.
Phases stop before the heal (if the scenario has one), which joins everyone.
"""

from __future__ import annotations

import json

from paxossim import protocols
from paxossim.errors import UserError
from paxossim.rng import Stream, Streams
from paxossim.scenario.model import Scenario
from paxossim.scenario.twins import TwinsSpec

MAX_PHASES = 3


def _index(stream: Stream, size: int) -> int:
    return min(int(stream.random() * size), size - 1)


def twin_overrides(seed: int, scenario: Scenario, count: int) -> tuple[str, ...]:
    """``count`` twinned voters and their phases for ``seed``, as ``--set`` strings."""
    voters = scenario.nodes_with(protocols.get(scenario.protocol).decision.voters)
    if not 1 <= count <= len(voters):
        raise UserError("--swarm-twins", f"must be between 1 and the {len(voters)} voters "
                        f"of {scenario.source}, got {count}")
    stream = Streams(seed).stream("swarm:twins")
    pool = list(voters)
    twinned = [pool.pop(_index(stream, len(pool))) for _ in range(count)]
    twinned.sort(key=voters.index)
    instances = TwinsSpec(nodes=tuple(twinned)).instances(list(scenario.nodes))
    stop = scenario.liveness.heal_at if scenario.liveness.heal_at is not None \
        else scenario.horizon
    phases = 1 + _index(stream, MAX_PHASES)
    draws = [round(stream.uniform(0.0, stop), 3) for _ in range(phases - 1)]
    drawn = []
    # Rounding may reach the heal, and two equal times would be one phase.
    for at in sorted({0.0, *(at for at in draws if at < stop)}):
        sides: list[list[str]] = [[], []]
        for name in instances:
            sides[_index(stream, 2)].append(name)
        drawn.append({"at": at, "groups": [side for side in sides if side]})
    return (f"twins.nodes={json.dumps(twinned)}",
            f"twins.phases=[{', '.join(_inline(phase) for phase in drawn)}]")


def _inline(phase: dict[str, object]) -> str:
    """One phase as a TOML inline table (JSON lists of strings are TOML arrays)."""
    return f"{{at={phase['at']}, groups={json.dumps(phase['groups'])}}}"
