"""`hermit instructions …`: one agent (`--agent`) or every agent at once (`--all`)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from openhermit.cli.context import agent_or_default, client, console, emit, fail, table

app = typer.Typer(help="Standing instructions of an agent, or of the whole fleet.", no_args_is_help=True)
AGENT = typer.Option(None, "--agent", "-a", help="Agent id (default: OPENHERMIT_AGENT_ID or main).")
ALL = typer.Option(False, "--all", help="Apply to every agent in one transaction (admin).")
FILE = typer.Option(None, "--file", "-f", help="Read the content from a file, or - for stdin.")
JSON = typer.Option(False, "--json", help="Print JSON.")
CONTENT = typer.Argument(None, help="The text (or use --file).")


def _content(content: str | None, file: str | None) -> str:
    if file == "-":
        return sys.stdin.read()
    if file:
        return Path(file).read_text()
    if content is None:
        raise fail("give the content as an argument or with --file")
    return content


def _fanout_report(result: dict[str, object]) -> None:
    agents = result.get("agents") or []
    console.print(f"{result['mode']} {result['key']}: {len(agents)} agent(s) in {result.get('seconds')}s")  # type: ignore[arg-type]


@app.command("list")
def list_instructions(agent: str | None = AGENT, as_json: bool = JSON) -> None:
    """List instruction keys and their beginnings."""
    with client() as gw:
        rows = gw.list_instructions(agent_or_default(agent))
    view = [{**r, "content": r["content"][:60].replace("\n", " ")} for r in rows] if not as_json else rows
    table(view, ["key", "content", "updatedAt"], as_json)


@app.command("get")
def get(key: str, agent: str | None = AGENT) -> None:
    """Print one instruction."""
    with client() as gw:
        emit(gw.get_instruction(agent_or_default(agent), key)["content"], False)


def _write(mode: str, key: str, text: str, agent: str | None, all_agents: bool) -> None:
    with client() as gw:
        if all_agents:
            _fanout_report(gw.fanout_instruction(mode, key, text))
            return
        agent_id = agent_or_default(agent)
        if mode == "append":
            current = {r["key"]: r["content"] for r in gw.list_instructions(agent_id)}.get(key, "")
            text = f"{current}\n\n{text}" if current else text
        gw.set_instruction(agent_id, key, text)
    console.print(f"{key}: {mode} done.")


@app.command("set")
def set_instruction(
    key: str,
    content: str | None = CONTENT,
    agent: str | None = AGENT,
    all_agents: bool = ALL,
    file: str | None = FILE,
) -> None:
    """Replace an instruction."""
    _write("set", key, _content(content, file), agent, all_agents)


@app.command("append")
def append(
    key: str,
    content: str | None = CONTENT,
    agent: str | None = AGENT,
    all_agents: bool = ALL,
    file: str | None = FILE,
) -> None:
    """Add a paragraph to an instruction (creating it where missing)."""
    _write("append", key, _content(content, file), agent, all_agents)


@app.command("remove")
def remove(key: str, agent: str | None = AGENT, all_agents: bool = ALL) -> None:
    """Delete an instruction."""
    with client() as gw:
        if all_agents:
            _fanout_report(gw.fanout_instruction("remove", key))
        else:
            gw.remove_instruction(agent_or_default(agent), key)
            console.print(f"{key} removed.")
