"""The settings tree: every option of the server, with its environment name derived from its path."""

from argonaut.config.settings import ServerSettings

__all__ = ["ServerSettings"]
