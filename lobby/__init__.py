"""DISCO's matchmaking domain: tickets, pairing policy, match life cycle and their stores."""
