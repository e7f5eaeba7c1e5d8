"""The server↔agent wire contract: versioned, typed frames and strict parsing. Pure: no I/O."""
