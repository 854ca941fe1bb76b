"""OpenHermit: run fleets of AI agents as production services."""

__version__ = "0.1.0"
