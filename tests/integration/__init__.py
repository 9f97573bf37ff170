"""Integration tests on loopback servers (see docs/testing.md)."""
