"""paxossim: a deterministic discrete-event simulator of Paxos and its friends.

The Python API (see :mod:`paxossim.api`)::

    import paxossim

    run = paxossim.run("late_arriving_proposal")
    print(run.account())
"""

__version__ = "0.1.0"

# After __version__: modules that read it import this package first.
from paxossim.api import Run, load_scenario, run
from paxossim.errors import UserError

__all__ = ["Run", "UserError", "__version__", "load_scenario", "run"]
