"""The attachment tools, called by the (fake) model in real turns through the gateway."""

from __future__ import annotations

import base64

import httpx
import pytest

from openhermit.gateway.platform import Platform
from openhermit.runtime.tools.base import ANY
from openhermit.runtime.tools.catalog import turn_tools
from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.fake_sandbox import FakeSandboxResolver
from tests.integration.test_attachments_http import png_bytes
from tests.runtime_helpers import create_agent, fake_model_config, open_session, parse_sse, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}
BASE = "/api/agents/tools/sessions/cli:s1"


@pytest.fixture
async def agent(client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer) -> None:
    await create_agent(client, H, "tools")
    await point_at_fake(db, "tools", fake_model)
    await open_session(client, H, "tools", "cli:s1")


async def upload(client: httpx.AsyncClient, name: str, data: bytes, mime: str = "text/plain") -> dict:
    made = await client.post(f"{BASE}/attachments", files={"file": (name, data, mime)}, headers=H)
    assert made.status_code == 201, made.text
    return made.json()["attachment"]


async def turn(client: httpx.AsyncClient, text: str) -> dict:
    answer = await client.post(f"{BASE}/messages", params={"wait": "true"}, json={"text": text}, headers=H)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_tools_are_offered_to_everyone() -> None:
    tools = turn_tools()
    for name in ("attachment_list", "attachment_fetch", "attachment_upload", "attachment_send"):
        assert tools[name].default_grants == ANY


async def test_list_and_fetch(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: None, platform: Platform
) -> None:
    platform.runtime.sandboxes = FakeSandboxResolver()
    att = await upload(client, "notes.md", b"# Notes\nThe launch code is 0000.\n")
    binary = await upload(client, "blob.bin", b"\x00\x01\x02" * 10, "application/octet-stream")
    fake_model.script(
        Reply(tool_calls=[("attachment_list", {})]),
        Reply(tool_calls=[("attachment_fetch", {"attachment_id": att["id"]})]),
        Reply(tool_calls=[("attachment_fetch", {"attachment_id": binary["id"]})]),
        Reply(tool_calls=[("attachment_fetch", {"attachment_id": "att_missing"})]),
        Reply(text="The code is 0000."),
    )
    body = await turn(client, "What is in my notes?")
    assert body["text"] == "The code is 0000."
    listed, text, meta, missing = body["toolCalls"]
    assert listed["isError"] is False
    assert att["id"] in listed["text"]
    assert att["sandboxPath"] in listed["text"]
    assert binary["id"] in listed["text"]
    assert text["text"] == "# Notes\nThe launch code is 0000.\n"
    assert binary["sha256"] in meta["text"]  # binary files come back as metadata
    assert missing["isError"] is True
    assert "not found" in missing["text"]


async def test_the_user_message_lists_its_attachments_for_the_model(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: None, platform: Platform
) -> None:
    platform.runtime.sandboxes = FakeSandboxResolver()
    att = await upload(client, "photo.txt", b"hello")
    fake_model.script(Reply(text="ok"))
    answer = await client.post(
        f"{BASE}/messages",
        params={"wait": "true"},
        json={
            "text": "see attached",
            "attachments": [
                {
                    "id": att["id"],
                    "type": "file",
                    "name": "photo.txt",
                    "sandboxPath": att["sandboxPath"],
                    "mimeType": "text/plain",
                    "size": 5,
                }
            ],
        },
        headers=H,
    )
    assert answer.status_code == 200, answer.text
    prompt = fake_model.received[-1].text()
    assert att["id"] in prompt
    assert att["sandboxPath"] in prompt
    assert "attachment_fetch" in prompt


async def test_fetch_retries_a_failed_materialisation(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: None, platform: Platform
) -> None:
    platform.runtime.sandboxes = None
    att = await upload(client, "late.txt", b"arrives later")  # no sandbox backend yet
    assert att["materializationState"] == "failed"
    resolver = FakeSandboxResolver()
    platform.runtime.sandboxes = resolver
    fake_model.script(
        Reply(tool_calls=[("attachment_fetch", {"attachment_id": att["id"], "mode": "metadata"})]),
        Reply(text="done"),
    )
    body = await turn(client, "fetch it")
    assert '"materializationState": "copied"' in body["toolCalls"][0]["text"]
    now = (await client.get(f"{BASE}/attachments/{att['id']}", headers=H)).json()["attachment"]
    assert now["materializationState"] == "copied"
    assert now["materializationError"] is None
    sandbox = resolver.sandboxes[("tools", "default")]
    assert await sandbox.read_file(now["sandboxPath"]) == b"arrives later"


async def test_upload_from_the_sandbox_and_send(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: None, platform: Platform
) -> None:
    resolver = FakeSandboxResolver()
    platform.runtime.sandboxes = resolver
    sandbox = await resolver.for_agent("tools")
    await sandbox.write_file("out/chart.csv", b"a,b\n1,2\n")
    fake_model.script(
        Reply(tool_calls=[("attachment_upload", {"path": "out/chart.csv", "name": "Chart.csv"})]),
        Reply(text="uploaded"),
    )
    body = await turn(client, "make a chart")
    assert body["toolCalls"][0]["isError"] is False
    [att] = (await client.get(f"{BASE}/attachments", headers=H)).json()["attachments"]
    assert att["name"] == "Chart.csv"
    assert att["mimeType"] == "text/csv"
    assert (await client.get(f"{BASE}/attachments/{att['id']}/bytes", headers=H)).content == b"a,b\n1,2\n"

    fake_model.script(
        Reply(tool_calls=[("attachment_send", {"id": att["id"], "caption": "Here it is"})]),
        Reply(text="sent"),
    )
    answer = await client.post(
        f"{BASE}/messages", params={"stream": "true"}, json={"text": "send it"}, headers=H
    )
    frames = parse_sse(answer.text)
    [event] = [f["data"] for f in frames if f["event"] == "attachment"]
    assert event["attachmentId"] == att["id"]
    assert event["kind"] == "document"
    assert event["mimeType"] == "text/csv"
    assert event["caption"] == "Here it is"
    history = (await client.get(f"{BASE}/messages", headers=H)).json()
    sent = [m for m in history if m["role"] == "assistant" and m.get("attachments")]
    assert sent[0]["content"] == "Here it is"
    assert sent[0]["attachments"][0]["id"] == att["id"]


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_images_are_inlined_for_multimodal_models(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, platform: Platform, api: str
) -> None:
    await create_agent(client, H, "eyes")
    await point_at_fake(db, "eyes", fake_model, api=api)
    await open_session(client, H, "eyes", "cli:s1")
    base = "/api/agents/eyes/sessions/cli:s1"
    png = png_bytes()
    made = await client.post(f"{base}/attachments", files={"file": ("p.png", png, "image/png")}, headers=H)
    att = made.json()["attachment"]
    big = await client.post(
        f"{base}/attachments",
        files={"file": ("big.png", png + b"\0" * (1024 * 1024), "image/png")},
        headers=H,
    )
    ref = [{"id": att["id"], "type": "file"}, {"id": big.json()["attachment"]["id"], "type": "file"}]
    message = {"text": "what is this?", "attachments": ref}

    fake_model.script(Reply(text="no eyes"))
    await client.post(f"{base}/messages", params={"wait": "true"}, json=message, headers=H)
    encoded = base64.b64encode(png).decode()
    assert encoded not in fake_model.received[-1].text()  # the model is not multimodal by default

    await point_at_fake(
        db, "eyes", fake_model, api=api, model={**fake_model_config(fake_model, api)["model"], "images": True}
    )
    fake_model.script(Reply(text="a green pixel"))
    await client.post(f"{base}/messages", params={"wait": "true"}, json=message, headers=H)
    body = fake_model.received[-1].body
    last_user = [m for m in body["messages"] if m["role"] == "user"][-1]
    if api == "openai":
        images = [p for p in last_user["content"] if p["type"] == "image_url"]
        assert [i["image_url"]["url"] for i in images] == [f"data:image/png;base64,{encoded}"]
    else:
        images = [b for b in last_user["content"] if b["type"] == "image"]
        assert [i["source"] for i in images] == [
            {"type": "base64", "media_type": "image/png", "data": encoded}
        ]
    # Only the latest attachment-bearing message is inlined: the earlier one is text only.
    assert fake_model.received[-1].text().count(encoded) == 1


async def test_fetch_copies_a_deleted_file_again(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: None, platform: Platform
) -> None:
    resolver = FakeSandboxResolver()
    platform.runtime.sandboxes = resolver
    att = await upload(client, "keep.txt", b"keep me")
    sandbox = await resolver.for_agent("tools")
    await sandbox.delete(att["sandboxPath"])
    fake_model.script(
        Reply(tool_calls=[("attachment_fetch", {"attachment_id": att["id"], "mode": "metadata"})]),
        Reply(text="done"),
    )
    await turn(client, "fetch it")
    assert await sandbox.read_file(att["sandboxPath"]) == b"keep me"
