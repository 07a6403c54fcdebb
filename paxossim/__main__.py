"""``python -m paxossim``: the same commands as the ``paxossim`` script."""

from paxossim.cli import main

main(prog_name="paxossim")
