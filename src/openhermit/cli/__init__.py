"""The `hermit` command line."""
