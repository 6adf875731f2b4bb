"""Serving the chat to a team: `assistant serve` (server.py), the users file (users.py), settings, metrics."""
