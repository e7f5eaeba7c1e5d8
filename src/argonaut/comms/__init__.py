"""The server side of agent links: connecting to listening agents, the polling hub, the dispatcher."""
