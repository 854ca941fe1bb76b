"""Channel adapters: Telegram, Discord, Slack."""
