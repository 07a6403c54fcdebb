"""The run viewer: one self-contained HTML page to step through a run in a browser.

``paxossim view LOG`` (and ``run``/``explore``, next to the log they write)
turns a log into ``view.html``: a space-time diagram on a canvas with a time
slider, steps to the next event, message or fault, zoom and pan, each
message's fields and fate on hover, crash and partition windows, violations
with a jump to their event, filters, and each node's visible state at the
slider's time. Scripts, styles and data are inline, nothing is fetched, so
the file opens from disk and can be mailed around.
"""
