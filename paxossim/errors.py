"""The one exception type for mistakes a user can fix (bad files, bad flags)."""

from __future__ import annotations


class UserError(Exception):
    """A user mistake: printed as one line ``where: what`` and exit code 2.

    ``where`` names the file and, when known, the key or line; ``what`` says
    what is wrong in words a user can act on.
    """

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}" if where else what)
        self.where = where
        self.what = what
