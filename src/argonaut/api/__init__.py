"""The REST API, shaped like the described system's: one router module per resource family."""
