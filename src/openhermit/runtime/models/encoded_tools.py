"""The JSON of a tool list, encoded once for as long as the runner hands over the same list.

A turn's tool definitions are tens of kilobytes of JSON schema and, for a given agent setup and
caller, the same list object every turn (`AgentRunner._builtin_tools`). Encoding them is the
largest part of serialising a request, so each vendor client keeps the encoding per list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openhermit.protocol.json_text import dumps
from openhermit.runtime.models.base import ToolSpec

CACHED_LISTS = 256


class EncodedTools:
    """JSON text of tool lists, keyed by the list object (held, so its id stays its own)."""

    def __init__(self, shape: Callable[[ToolSpec], dict[str, Any]]) -> None:
        self._shape = shape
        self._encoded: dict[int, tuple[list[ToolSpec], str]] = {}

    def json(self, specs: list[ToolSpec]) -> str:
        found = self._encoded.get(id(specs))
        if found is not None and found[0] is specs:
            return found[1]
        text = dumps([self._shape(spec) for spec in specs])
        if len(self._encoded) >= CACHED_LISTS:
            self._encoded.pop(next(iter(self._encoded)))  # the oldest
        self._encoded[id(specs)] = (specs, text)
        return text
