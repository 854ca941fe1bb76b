"""LIKE patterns from user text: `%`, `_` and `\\` match themselves."""

from __future__ import annotations

ESCAPE = "\\"


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
