"""Agent runtime: turns, the model loop, tools, memory."""
