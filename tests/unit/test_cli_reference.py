from __future__ import annotations

from pathlib import Path

from openhermit.cli.reference import render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_current() -> None:
    assert DOCS.read_text() == render(), (
        "docs/cli.md is stale: python -m openhermit.cli.reference > docs/cli.md"
    )
