"""Built-in sandbox backends (registered as `openhermit.sandboxes` entry points)."""
