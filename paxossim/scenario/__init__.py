"""Scenarios: their schema and validation, latency models, faults, the bundled
files, and the input schedule a run executes."""
