"""DISCO's HTTP API: accounts, lobby tokens, LiveKit webhooks, history and the web client."""
