"""DISCO's LiveKit agent worker: the lobby session and the debate moderator."""
