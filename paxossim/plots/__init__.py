"""Figures drawn from event logs: sequence diagrams (space-time, Mermaid) and charts."""
