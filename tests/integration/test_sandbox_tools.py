"""The exec and file tools end to end: the fake model calls them, the `local` sandbox runs them."""

from __future__ import annotations

import httpx
import pytest

from openhermit.sandbox.registry import unavailable_reason
from openhermit.store.engine import Database
from openhermit.store.repos import sandboxes
from openhermit.testing.fake_model import FakeModelServer, Reply
from tests.runtime_helpers import create_agent, open_session, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}
pytestmark = pytest.mark.skipif(
    unavailable_reason("local") is not None,
    reason=f"local sandbox unavailable: {unavailable_reason('local')}",
)


@pytest.fixture
async def agent(client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer) -> str:
    await create_agent(client, H, "worker")
    await point_at_fake(db, "worker", fake_model)
    await open_session(client, H, "worker", "s1")
    return "worker"


async def ask(client: httpx.AsyncClient, text: str, session: str = "s1", agent: str = "worker") -> dict:
    answer = await client.post(
        f"/api/agents/{agent}/sessions/{session}/messages",
        params={"wait": "true"},
        json={"text": text},
        headers=H,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_exec_runs_python_in_the_local_sandbox(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, agent: str
) -> None:
    fake_model.script(
        Reply(tool_calls=[("exec", {"command": "python3 -c 'print(6*7)'"})]), Reply(text="It is 42.")
    )
    body = await ask(client, "What is six times seven? Use python.")
    call = body["toolCalls"][0]
    assert call["tool"] == "exec"
    assert call["isError"] is False
    assert call["text"].splitlines()[0] == "42"
    assert "42" in fake_model.received[-1].text()  # the model saw the output
    # The first use provisioned the default sandbox from the gateway's default preset.
    async with db.transaction() as tx:
        rows = await sandboxes.list_sandboxes(tx, agent)
    assert [(r.alias, r.type, r.status) for r in rows] == [("default", "local", "provisioned")]


async def test_file_write_then_read_round_trips(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str
) -> None:
    content = "line one\nline two — ünïcode\nline three\n"
    fake_model.script(
        Reply(tool_calls=[("file_write", {"path": "notes/today.md", "content": content})]),
        Reply(tool_calls=[("file_read", {"path": "notes/today.md"})]),
        Reply(tool_calls=[("file_read", {"path": "notes/today.md", "offset": 2, "limit": 1})]),
        Reply(tool_calls=[("exec", {"command": "wc -l < notes/today.md"})]),
        Reply(tool_calls=[("exec", {"command": "printf 'a\\0b' | tee bin.dat"})]),
        Reply(tool_calls=[("file_read", {"path": "bin.dat"})]),
        Reply(tool_calls=[("file_read", {"path": "bin.dat", "encoding": "base64"})]),
        Reply(text="done"),
    )
    body = await ask(client, "Write and read a note.")
    calls = body["toolCalls"]
    assert [c["tool"] for c in calls] == [
        *["file_write", "file_read", "file_read"],
        *["exec"] * 2,
        *["file_read"] * 2,
    ]
    assert all(not c["isError"] for c in calls), calls
    assert calls[1]["text"] == content
    assert calls[2]["text"] == "line two — ünïcode\n"
    assert calls[3]["text"].splitlines()[0] == "3"
    # NUL bytes in output survive the trip through the event log as replacement characters.
    assert calls[4]["text"].startswith("a\ufffdb")
    assert calls[5]["text"] == "a\ufffdb"
    assert calls[6]["text"] == "YQBi"


async def test_edit_list_stat_delete(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str
) -> None:
    fake_model.script(
        Reply(tool_calls=[("file_write", {"path": "a.txt", "content": "hello world"})]),
        Reply(tool_calls=[("file_edit", {"path": "a.txt", "find_text": "world", "replace_text": "there"})]),
        Reply(tool_calls=[("file_read", {"path": "a.txt"})]),
        Reply(tool_calls=[("file_stat", {"path": "a.txt"})]),
        Reply(tool_calls=[("file_list", {"path": "."})]),
        Reply(tool_calls=[("file_delete", {"path": "a.txt"})]),
        Reply(tool_calls=[("file_read", {"path": "a.txt"})]),
        Reply(tool_calls=[("file_write", {"path": "../outside.txt", "content": "x"})]),
        Reply(text="done"),
    )
    calls = (await ask(client, "Edit a file."))["toolCalls"]
    assert calls[2]["text"] == "hello there"
    assert "file, 11 bytes" in calls[3]["text"]
    assert "a.txt\t11" in calls[4]["text"]
    assert calls[5]["isError"] is False
    assert calls[6]["isError"] is True
    assert "No such file" in calls[6]["text"]
    assert calls[7]["isError"] is True
    assert "outside" in calls[7]["text"]


async def test_policies_scope_files_and_commands(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str
) -> None:
    deny_secret = {
        "resourceType": "file",
        "resourceKey": "private/",
        "effect": "deny",
        "grants": [{"type": "any"}],
        "scope": {"sandbox": "*", "mode": "*", "path": "private/"},
    }
    allow_ls = {"resourceType": "exec", "resourceKey": "ls", "effect": "allow", "grants": [{"type": "any"}]}
    for rule in (deny_secret, allow_ls):
        response = await client.post(f"/api/agents/{agent}/policies", json=rule, headers=H)
        assert response.status_code in (200, 201), response.text
    fake_model.script(
        Reply(tool_calls=[("file_write", {"path": "private/key.txt", "content": "s3cret"})]),
        Reply(tool_calls=[("file_write", {"path": "public/ok.txt", "content": "fine"})]),
        Reply(tool_calls=[("exec", {"command": "ls"})]),
        Reply(tool_calls=[("exec", {"command": "cat public/ok.txt"})]),
        Reply(text="done"),
    )
    calls = (await ask(client, "Try things."))["toolCalls"]
    assert calls[0]["isError"] is True
    assert "policy does not allow" in calls[0]["text"]
    assert calls[1]["isError"] is False
    assert calls[2]["isError"] is False
    assert "public" in calls[2]["text"]
    assert calls[3]["isError"] is True  # exec rows exist and none names this command
    assert "fine" not in calls[3]["text"]


async def test_alias_picks_another_sandbox(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str
) -> None:
    created = await client.post(
        f"/api/agents/{agent}/sandboxes", json={"alias": "scratch", "type": "local", "config": {}}, headers=H
    )
    assert created.status_code == 201, created.text
    fake_model.script(
        Reply(tool_calls=[("file_write", {"path": "where.txt", "content": "scratch", "sandbox": "scratch"})]),
        Reply(tool_calls=[("exec", {"command": "cat where.txt", "alias": "scratch"})]),
        Reply(tool_calls=[("exec", {"command": "echo hi", "alias": "nope"})]),
        Reply(text="done"),
    )
    calls = (await ask(client, "Use the scratch sandbox."))["toolCalls"]
    assert calls[1]["text"].splitlines()[0] == "scratch"
    assert calls[2]["isError"] is True
    assert "No sandbox named nope" in calls[2]["text"]


async def test_uploaded_attachment_is_readable_inside_the_local_sandbox(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str
) -> None:
    made = await client.post(
        "/api/agents/worker/sessions/s1/attachments",
        files={"file": ("report.txt", b"quarterly numbers\n", "text/plain")},
        headers=H,
    )
    assert made.status_code == 201, made.text
    att = made.json()["attachment"]
    assert att["materializationState"] == "copied", att
    fake_model.script(
        Reply(tool_calls=[("exec", {"command": f"cat '{att['sandboxPath']}'"})]), Reply(text="read")
    )
    body = await ask(client, "Read the report.")
    call = body["toolCalls"][0]
    assert call["isError"] is False
    assert call["text"].splitlines()[0] == "quarterly numbers"
