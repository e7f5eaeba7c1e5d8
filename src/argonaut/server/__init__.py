"""Composition root: builds the app, opens the store, runs the node's services under one lifespan."""
