"""The agent process ("Tentacle"): instance config, listening server, polling loop, script service."""
