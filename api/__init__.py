"""essmap HTTP API."""
