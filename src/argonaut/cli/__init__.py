"""The ``argonaut`` command: ``argonaut server`` runs a node; the other verbs are a REST API client."""
