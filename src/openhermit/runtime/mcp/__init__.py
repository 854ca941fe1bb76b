"""MCP servers: per-agent connections through the official `mcp` SDK (Streamable HTTP and stdio)."""
