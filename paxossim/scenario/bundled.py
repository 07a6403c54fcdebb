"""Bundled scenarios and sweep specs: where they live, and how a name finds one.

They are the TOML files of the repository's top-level ``scenarios/`` folder.
``paxossim/scenarios`` is a symlink to that folder, so one lookup through
:mod:`importlib.resources` finds them in a checkout, in an editable install,
and in an installed wheel (which stores the files themselves). Everything that
turns a name like ``late_arriving_proposal`` into a file asks this module.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from paxossim.errors import UserError

POST_SCENARIO = "late_arriving_proposal"
SWEEP_PREFIX = "sweep_"
"""Bundled sweep specs are named ``sweep_*.toml``; the rest are scenarios."""

LOCAL_DIR = Path("scenarios")
"""A ``scenarios/`` folder in the working directory is searched first, so a
user's own scenario of the same name wins over the bundled one."""


def bundled_dir() -> Path:
    """The folder that holds the bundled TOML files.

    A real path, not just a resource handle: scenarios and sweep specs name
    other files relative to their own folder.
    """
    return Path(str(resources.files("paxossim") / "scenarios")).resolve()


def bundled_scenarios() -> list[Path]:
    """The bundled scenarios (not sweep specs), the post's scenario first."""
    found = [p for p in bundled_dir().glob("*.toml") if not p.stem.startswith(SWEEP_PREFIX)]
    return sorted(found, key=lambda p: (p.stem != POST_SCENARIO, p.stem))


def resolve(name: str | Path) -> Path:
    """A file path as given, or the file a bundled name stands for.

    ``name`` is taken as a path when it exists, ends in ``.toml`` or contains a
    folder; otherwise ``scenarios/NAME.toml`` in the working directory, then the
    bundled ``NAME.toml``. Sweep specs are found the same way (``sweep_loss``).
    """
    path = Path(name)
    text = str(name)
    if path.exists() or path.suffix == ".toml" or "/" in text or "\\" in text:
        return path
    for folder in (LOCAL_DIR, bundled_dir()):
        candidate = folder / f"{text}.toml"
        if candidate.is_file():
            return candidate
    raise UserError(text, "no such scenario file or bundled scenario (see: paxossim scenarios)")
