"""A tool list is encoded once while the same list is handed over, and anew when it changes."""

from __future__ import annotations

import json

from openhermit.runtime.models.base import ToolSpec
from openhermit.runtime.models.encoded_tools import CACHED_LISTS, EncodedTools


def _shape(spec: ToolSpec) -> dict[str, object]:
    return {"name": spec.name, "parameters": spec.parameters}


def test_the_same_list_reuses_its_encoding_and_a_new_list_is_encoded() -> None:
    shaped: list[str] = []

    def shape(spec: ToolSpec) -> dict[str, object]:
        shaped.append(spec.name)
        return _shape(spec)

    encoded = EncodedTools(shape)
    specs = [ToolSpec("exec", "Run a command", {"type": "object"}), ToolSpec("ünïcode", "x", {})]
    first = encoded.json(specs)
    assert encoded.json(specs) is first
    assert shaped == ["exec", "ünïcode"]
    assert json.loads(first) == [_shape(s) for s in specs]
    assert "ünïcode" in first  # sent as UTF-8, as the SDKs do

    other = [ToolSpec("file_read", "Read", {})]
    assert json.loads(encoded.json(other)) == [{"name": "file_read", "parameters": {}}]


def test_the_cache_is_bounded() -> None:
    encoded = EncodedTools(_shape)
    lists = [[ToolSpec(f"t{i}", "", {})] for i in range(CACHED_LISTS + 10)]
    for specs in lists:
        encoded.json(specs)
    assert len(encoded._encoded) == CACHED_LISTS
    assert json.loads(encoded.json(lists[0])) == [{"name": "t0", "parameters": {}}]  # evicted, re-encoded
