"""Argonaut: a deployment orchestration server that hands script work to workers."""

__version__ = "0.1.0"
