"""Repositories: one per noun. Each takes a `Tx`, never commits, and returns protocol models."""
