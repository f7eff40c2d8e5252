"""Meters: the registry, the server's key, read requests and the intake of readings."""
