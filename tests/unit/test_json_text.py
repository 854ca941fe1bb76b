"""The platform's JSON text: compact and UTF-8 like the standard library's, for every value."""

from __future__ import annotations

import json

from openhermit.protocol.json_text import dumps, dumps_bytes, loads


def test_compact_utf8_text_in_key_order() -> None:
    value = {"b": [1, 1.5, None, True], "a": "héllo ✓", "nested": {"z": 1, "y": "x"}}
    assert dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert dumps_bytes(value) == dumps(value).encode()
    assert loads(dumps(value)) == value


def test_what_orjson_refuses_is_still_written() -> None:
    huge = {"count": 10**30, 7: "seven"}  # beyond 64 bits; a non-string key
    assert dumps(huge) == '{"count":1000000000000000000000000000000,"7":"seven"}'
    # Read back, an integer beyond 64 bits is a float (as a JavaScript client reads it too).
    assert loads(dumps(huge)) == {"count": float(10**30), "7": "seven"}
