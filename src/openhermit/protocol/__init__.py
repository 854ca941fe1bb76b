"""Pure wire models shared by the gateway, the SDK and the CLI. No I/O here."""
