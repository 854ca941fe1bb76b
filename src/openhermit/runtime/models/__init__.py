"""Model clients behind one Protocol: OpenAI-compatible and Anthropic, streaming."""
