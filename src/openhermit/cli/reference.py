"""`docs/cli.md`, generated from the commands' own help (`python -m openhermit.cli.reference`)."""

from __future__ import annotations

from typing import Any

import typer.main

from openhermit.cli.app import app

HEADER = (
    "# hermit command reference\n\n"
    "Generated from `hermit --help` by `python -m openhermit.cli.reference > docs/cli.md`; "
    "a test fails when this file is stale.\n"
)


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    for name in sorted(getattr(command, "commands", {}) or {}):
        found += _walk(command.commands[name], [*path, name])
    return found


def render() -> str:
    root = typer.main.get_command(app)
    sections = [HEADER]
    for path, command in _walk(root, ["hermit"]):
        info_name = " ".join(path)
        command.rich_markup_mode = None  # plain text, not a rich panel
        with command.context_class(
            command, info_name=info_name, terminal_width=100, max_content_width=100
        ) as ctx:
            ctx.color = False
            text = command.get_help(ctx)
        sections.append(f"## `{info_name}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(sections)


if __name__ == "__main__":
    print(render(), end="")
