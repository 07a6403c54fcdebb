"""The event log: streamed while a run goes, read back as a stream, replayed."""
