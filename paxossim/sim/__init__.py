"""The simulation: the runtime (the only simpy code), the network, node snapshots."""
