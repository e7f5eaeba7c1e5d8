"""Keys and certificates: API-key hashing, the master key for secrets at rest, node certificates."""
