"""Safety, liveness and linearizability, judged from a run's events."""
