"""Pure rules of Argonaut: no I/O, no asyncio, so they are tested with plain tables."""
