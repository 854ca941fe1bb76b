"""Built-in tools: classes with a pydantic input model and an async `run`."""
