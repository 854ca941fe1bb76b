"""Fakes shipped for tests: model server, sandbox, channel."""
