"""AES-256-GCM secrets and the secret stores (database, file)."""
