"""`hermit chat`: talk to an agent from the terminal, streamed; reads piped stdin too."""

from __future__ import annotations

import getpass
import sys
import uuid
from datetime import UTC, datetime

import typer

from openhermit.cli.context import agent_or_default, client, console, fail
from openhermit.sdk import GatewayClient, GatewayError

HELP = "\n".join(
    [
        "/new  start a new session",
        "/sessions  list sessions",
        "/resume <id>  continue one",
        "/exit  quit",
        "/help  this text",
    ]
)


def new_session_id() -> str:
    return f"cli:{datetime.now(UTC):%Y-%m-%d}-{uuid.uuid4().hex[:8]}"


def _turn(gw: GatewayClient, agent: str, session: str, text: str, interactive: bool) -> None:
    printed = False
    for frame in gw.stream(agent, session, text):
        data = frame.data if isinstance(frame.data, dict) else {}
        if frame.event == "text_delta":
            sys.stdout.write(str(data.get("text", "")))
            sys.stdout.flush()
            printed = True
        elif frame.event == "text_final" and not printed:
            sys.stdout.write(str(data.get("text", "")))
            printed = True
        elif frame.event == "tool_call" and interactive:
            console.print(f"\n[dim]→ {data.get('tool')}[/dim]")
        elif frame.event == "approval_requested" and interactive and data.get("mode") == "realtime":
            approved = typer.confirm(f"\nAllow {data.get('resourceKey')} {data.get('args')}?", default=False)
            gw.approve(agent, session, str(data.get("toolCallId")), approved)
        elif frame.event == "error":
            sys.stdout.write(f"\n[error] {data.get('message')}")
        elif frame.event == "result":
            sys.stdout.write(str(data.get("text") or ""))
    sys.stdout.write("\n")
    sys.stdout.flush()


def chat(
    agent: str | None = typer.Option(
        None, "--agent", "-a", help="Agent id (default: OPENHERMIT_AGENT_ID or main)."
    ),
    session: str | None = typer.Option(None, "--session", "-s", help="Session id to use."),
    resume: bool = typer.Option(False, "--resume", help="Continue the most recent CLI session."),
) -> None:
    """Chat with an agent. With stdin piped, each line is a message; exits at end of input."""
    agent_id = agent_or_default(agent)
    interactive = sys.stdin.isatty()
    with client(timeout=60) as gw:
        try:
            gw.agent_info(agent_id)
            if session is None and resume:
                recent = gw.list_sessions(agent_id, kind="cli", limit=1)
                session = recent[0]["sessionId"] if recent else None
            session = session or new_session_id()
            gw.open_session(
                agent_id,
                session,
                kind="cli",
                interactive=interactive,
                metadata={"os_user": getpass.getuser()},
            )
            if interactive:
                console.print(f"Chatting with [bold]{agent_id}[/bold] in {session}. /help for commands.")
            while True:
                try:
                    line = input("you> " if interactive else "")
                except EOFError:
                    break
                text = line.strip()
                if not text:
                    continue
                if text in ("/exit", "/quit"):
                    break
                if text == "/help":
                    console.print(HELP, markup=False)
                elif text == "/new":
                    session = new_session_id()
                    gw.open_session(agent_id, session, kind="cli", interactive=interactive)
                    console.print(f"New session {session}.")
                elif text == "/sessions":
                    for item in gw.list_sessions(agent_id, kind="cli", limit=20):
                        console.print(f"{item['sessionId']}  {item.get('description') or ''}", markup=False)
                elif text.startswith("/resume"):
                    session = text.split(maxsplit=1)[1] if " " in text else session
                    console.print(f"Resumed {session}.")
                else:
                    _turn(gw, agent_id, session, text, interactive)
        except GatewayError as exc:
            raise fail(str(exc)) from None
