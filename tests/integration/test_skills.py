"""Skills: registry routes, fleet-wide and per-agent enablement reaching prompts and sandboxes,
and the agent's own skill_install / skill_uninstall tools."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from openhermit.gateway.platform import Platform
from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.fake_sandbox import FakeSandboxResolver
from tests.polling import eventually
from tests.runtime_helpers import create_agent, open_session, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}


def make_skill(root: Path, slug: str, name: str, description: str, body: str = "Do it well.") -> Path:
    folder = root / slug
    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    (folder / "SKILL.md").write_text(f"---\nname: {name}\ndescription: {description}\n---\n\n{body}\n")
    (folder / "scripts" / "run.sh").write_text("echo hi\n")
    return folder


@pytest.fixture
def sandboxes(platform: Platform) -> FakeSandboxResolver:
    resolver = FakeSandboxResolver()
    platform.runtime.sandboxes = resolver
    return resolver


async def ask(client: httpx.AsyncClient, fake: FakeModelServer, agent: str, text: str = "hi") -> str:
    """One turn; returns the system prompt the model received."""
    fake.script(Reply(text="ok"))
    answer = await client.post(
        f"/api/agents/{agent}/sessions/s/messages", params={"wait": "true"}, json={"text": text}, headers=H
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == "ok"
    return fake.received[-1].system_prompt


def skill_files(sandboxes: FakeSandboxResolver, agent: str) -> set[str]:
    sandbox = sandboxes.sandboxes.get((agent, "default"))
    return {name for name in (sandbox.files if sandbox else {}) if name.startswith(".openhermit/skills/")}


@pytest.fixture
async def fleet(client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer) -> list[str]:
    names = ["alpha", "beta", "gamma"]
    for agent in names:
        await create_agent(client, H, agent)
        await point_at_fake(db, agent, fake_model)
        await open_session(client, H, agent, "s")
    return names


async def register(client: httpx.AsyncClient, skill_id: str, path: Path, **extra: Any) -> httpx.Response:
    body = {"id": skill_id, "path": str(path), **extra}
    return await client.post("/api/admin/skills", json=body, headers=H)


async def test_fleet_enable_reaches_every_prompt_and_sandbox_and_a_per_agent_disable_wins(
    client: httpx.AsyncClient,
    fake_model: FakeModelServer,
    fleet: list[str],
    sandboxes: FakeSandboxResolver,
    tmp_path: Path,
) -> None:
    description = "Write release notes from merged changes."
    folder = make_skill(tmp_path, "release-notes", "Release notes", description)
    assert (await register(client, "release-notes", folder)).status_code == 201
    for agent in fleet:
        assert "Release notes" not in await ask(client, fake_model, agent)
        assert skill_files(sandboxes, agent) == set()

    enabled = await client.post("/api/admin/skills/release-notes/enable", json={"agentId": "*"}, headers=H)
    assert enabled.status_code == 200, enabled.text
    expected = {
        ".openhermit/skills/system/release-notes/SKILL.md",
        ".openhermit/skills/system/release-notes/scripts/run.sh",
    }
    line = (
        "- **Release notes**: Write release notes from merged changes. — "
        "`file_read .openhermit/skills/system/release-notes/SKILL.md`"
    )
    for agent in fleet:
        assert skill_files(sandboxes, agent) == expected  # running agents were synced at once
        prompt = await ask(client, fake_model, agent)
        assert "## Skills" in prompt
        assert line in prompt

    # A per-agent disable overrides the fleet-wide enable.
    off = await client.post("/api/admin/skills/release-notes/disable", json={"agentId": "beta"}, headers=H)
    assert off.status_code == 200, off.text
    assert "Release notes" not in await ask(client, fake_model, "beta")
    assert skill_files(sandboxes, "beta") == set()
    assert line in await ask(client, fake_model, "alpha")
    assert skill_files(sandboxes, "alpha") == expected

    index = await client.get("/api/agents/alpha/skills", headers=H)
    assert index.json() == [
        {
            "id": "release-notes",
            "name": "Release notes",
            "description": "Write release notes from merged changes.",
            "path": ".openhermit/skills/system/release-notes",
            "source": "system",
        }
    ]
    assert (await client.get("/api/agents/beta/skills", headers=H)).json() == []
    rows = (await client.get("/api/admin/skills/assignments", headers=H)).json()
    assert {(r["agentId"], r["skillId"], r["enabled"]) for r in rows} == {
        ("*", "release-notes", True),
        ("beta", "release-notes", False),
    }

    # Disabling fleet-wide removes it from every agent without its own row.
    await client.post("/api/admin/skills/release-notes/disable", headers=H)
    for agent in fleet:
        assert "Release notes" not in await ask(client, fake_model, agent)
        assert skill_files(sandboxes, agent) == set()


async def test_a_change_reaches_an_agent_hydrated_later_and_sync_pushes_new_files(
    client: httpx.AsyncClient,
    fake_model: FakeModelServer,
    fleet: list[str],
    sandboxes: FakeSandboxResolver,
    platform: Platform,
    tmp_path: Path,
) -> None:
    folder = make_skill(tmp_path, "triage", "Triage", "Sort incoming bugs.")
    await register(client, "triage", folder)
    await client.post("/api/admin/skills/triage/enable", json={"agentId": "gamma"}, headers=H)
    await platform.fleet.evict("gamma")  # a cold agent: picks the skill up when hydrated
    assert "**Triage**" in await ask(client, fake_model, "gamma")
    assert "**Triage**" not in await ask(client, fake_model, "alpha")

    (folder / "SKILL.md").write_text("---\nname: Triage v2\ndescription: Sort bugs by impact.\n---\nNew.\n")
    synced = await client.post("/api/admin/skills/sync", json={}, headers=H)
    assert synced.status_code == 200
    result = synced.json()
    triage = next(r for r in result["results"] if r["id"] == "triage")
    assert triage["action"] == "updated"
    assert set(triage["changes"]) == {"name", "description", "files"}
    assert result["agentsRefreshed"] >= 1
    sandbox = sandboxes.sandboxes[("gamma", "default")]
    assert b"Triage v2" in sandbox.files[".openhermit/skills/system/triage/SKILL.md"]
    assert "**Triage v2**: Sort bugs by impact." in await ask(client, fake_model, "gamma")

    again = (await client.post("/api/admin/skills/sync", json={"id": "triage"}, headers=H)).json()
    assert again["results"] == [{"id": "triage", "action": "unchanged"}]
    missing = (await client.post("/api/admin/skills/sync", json={"id": "nope"}, headers=H)).json()
    assert missing["results"] == [{"id": "nope", "action": "not_registered"}]
    (folder / "SKILL.md").unlink()
    gone = (await client.post("/api/admin/skills/sync", json={"id": "triage"}, headers=H)).json()
    assert gone["results"] == [{"id": "triage", "action": "missing_on_disk"}]

    deleted = await client.delete("/api/admin/skills/triage", headers=H)
    assert deleted.status_code == 200
    assert "Triage" not in await ask(client, fake_model, "gamma")
    assert skill_files(sandboxes, "gamma") == set()
    assert (await client.delete("/api/admin/skills/triage", headers=H)).status_code == 404


async def test_registration_errors_name_the_file(client: httpx.AsyncClient, tmp_path: Path) -> None:
    missing = await register(client, "ghost", tmp_path / "ghost")
    assert missing.status_code == 400
    assert str(tmp_path / "ghost") in missing.json()["error"]["message"]

    empty = tmp_path / "empty"
    empty.mkdir()
    no_file = await register(client, "empty", empty)
    assert no_file.status_code == 400
    assert str(empty / "SKILL.md") in no_file.json()["error"]["message"]

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "SKILL.md").write_text("---\nname: [unclosed\ndescription: x\n---\n")
    bad_yaml = await register(client, "broken", broken)
    assert bad_yaml.status_code == 400
    assert str(broken / "SKILL.md") in bad_yaml.json()["error"]["message"]
    assert "YAML" in bad_yaml.json()["error"]["message"]

    (broken / "SKILL.md").write_text("---\nname: Only a name\n---\nbody\n")
    no_description = await register(client, "broken", broken)
    assert no_description.status_code == 400
    assert "description" in no_description.json()["error"]["message"]

    (broken / "SKILL.md").write_text("no frontmatter at all\n")
    assert (await register(client, "broken", broken)).status_code == 400

    for body in (
        {"id": "Bad Id", "path": str(broken)},
        {"path": str(broken)},
        {"id": "ok", "path": str(broken), "unknown": 1},
    ):
        response = await client.post("/api/admin/skills", json=body, headers=H)
        assert response.status_code == 400, body
        assert set(response.json()) == {"error"}
    assert (await client.get("/api/admin/skills", headers=H)).json() == []


async def test_registry_views_scan_and_unknown_ids(
    client: httpx.AsyncClient, platform: Platform, fleet: list[str], tmp_path: Path
) -> None:
    registry = platform.settings.gateway_dir / "registry" / "skills"
    make_skill(registry, "dropped", "Dropped", "Found by scan.")
    (registry / "no-skill-md").mkdir()
    scanned = {s["id"]: s for s in (await client.get("/api/admin/skills/scan", headers=H)).json()}
    assert scanned["dropped"]["registered"] is False
    assert scanned["dropped"]["name"] == "Dropped"
    assert "SKILL.md" in scanned["no-skill-md"]["error"]
    for builtin in ("openhermit-admin", "openhermit-guide", "skill-creator"):
        assert scanned[builtin]["error"] is None or "error" not in scanned[builtin]

    made = await register(client, "dropped", registry / "dropped", name="Custom name")
    assert made.status_code == 201
    detail = (await client.get("/api/admin/skills/dropped", headers=H)).json()
    assert detail["name"] == "Custom name"
    assert detail["description"] == "Found by scan."
    assert detail["source"] == "system"
    assert detail["assignments"] == []
    await client.post("/api/admin/skills/dropped/enable", json={"agentId": "alpha"}, headers=H)
    detail = (await client.get("/api/admin/skills/dropped", headers=H)).json()
    assert [(a["agentId"], a["enabled"]) for a in detail["assignments"]] == [("alpha", True)]

    assert (await client.get("/api/admin/skills/nope", headers=H)).status_code == 404
    assert (await client.post("/api/admin/skills/nope/enable", headers=H)).status_code == 404
    unknown_agent = await client.post("/api/admin/skills/dropped/enable", json={"agentId": "zzz"}, headers=H)
    assert unknown_agent.status_code == 404
    bad_target = await client.post("/api/admin/skills/dropped/enable", json={"agent": "alpha"}, headers=H)
    assert bad_target.status_code == 400
    assert (await client.post("/api/agents/alpha/skills/nope/enable", headers=H)).status_code == 404
    assert (await client.get("/api/agents/zzz/skills", headers=H)).status_code == 404

    # The owner's switch for their agent.
    assert (await client.post("/api/agents/beta/skills/dropped/enable", headers=H)).json() == {"ok": True}
    assert [s["id"] for s in (await client.get("/api/agents/beta/skills", headers=H)).json()] == ["dropped"]
    await client.post("/api/agents/beta/skills/dropped/disable", headers=H)
    assert (await client.get("/api/agents/beta/skills", headers=H)).json() == []


async def test_builtin_skills_are_registered_at_start(client: httpx.AsyncClient, platform: Platform) -> None:
    await platform.start_background()
    try:
        found = {s["id"]: s for s in (await client.get("/api/admin/skills", headers=H)).json()}
    finally:
        await platform.recovery.stop()
    assert {"openhermit-admin", "openhermit-guide", "skill-creator"} <= set(found)
    assert found["skill-creator"]["name"] == "Skill creator"
    assert all(found[s]["source"] == "system" for s in ("openhermit-admin", "skill-creator"))
    assert found["openhermit-guide"]["path"].endswith("builtin_skills/openhermit-guide")


async def test_skill_install_and_uninstall_tools(
    client: httpx.AsyncClient,
    fake_model: FakeModelServer,
    fleet: list[str],
    sandboxes: FakeSandboxResolver,
) -> None:
    install = {
        "id": "haiku",
        "name": "Haiku",
        "description": "Answer in a haiku.",
        "markdown": "Write 5-7-5 syllables.",
        "files": [{"path": "references/examples.md", "content": "An old silent pond"}],
    }
    fake_model.script(Reply(tool_calls=[("skill_install", install)]), Reply(text="installed"))
    answer = await client.post(
        "/api/agents/alpha/sessions/s/messages", params={"wait": "true"}, json={"text": "learn"}, headers=H
    )
    body = answer.json()
    assert body["toolCalls"][0]["isError"] is False, body
    prompt = await ask(client, fake_model, "alpha")
    assert "- **Haiku**: Answer in a haiku. — `file_read .openhermit/skills/user/haiku/SKILL.md`" in prompt
    example = ".openhermit/skills/user/haiku/references/examples.md"

    async def mirrored() -> bytes | None:  # the sandbox is started and updated in the background
        sandbox = sandboxes.sandboxes.get(("alpha", "default"))
        return sandbox.files.get(example) if sandbox else None

    assert await eventually(mirrored, what="the skill mirrored into the sandbox") == b"An old silent pond"
    files = sandboxes.sandboxes[("alpha", "default")].files
    assert b"name: Haiku" in files[".openhermit/skills/user/haiku/SKILL.md"]
    assert "Haiku" not in await ask(client, fake_model, "beta")  # only the installing agent has it
    index = (await client.get("/api/agents/alpha/skills", headers=H)).json()
    assert [(s["id"], s["source"]) for s in index] == [("user:alpha:haiku", "user")]

    too_many = {**install, "id": "big", "files": [{"path": f"f{i}.md", "content": "x"} for i in range(32)]}
    too_large = {**install, "id": "huge", "markdown": "x" * (257 * 1024)}
    escape = {**install, "id": "escape", "files": [{"path": "../outside.md", "content": "x"}]}
    bad_id = {**install, "id": "Bad_Id"}
    fake_model.script(
        Reply(
            tool_calls=[
                ("skill_install", too_many),
                ("skill_install", too_large),
                ("skill_install", escape),
                ("skill_install", bad_id),
                ("skill_uninstall", {"id": "haiku"}),
                ("skill_uninstall", {"id": "haiku"}),
            ]
        ),
        Reply(text="done"),
    )
    answer = await client.post(
        "/api/agents/alpha/sessions/s/messages", params={"wait": "true"}, json={"text": "x"}, headers=H
    )
    calls = answer.json()["toolCalls"]
    assert [c["isError"] for c in calls] == [True, True, True, True, False, True]
    assert "32 files" in calls[0]["text"]
    assert "256 KiB" in calls[1]["text"]
    assert "inside the skill folder" in calls[2]["text"]
    assert "no installed skill" in calls[5]["text"]
    assert "Haiku" not in await ask(client, fake_model, "alpha")

    async def left() -> set[str]:
        return skill_files(sandboxes, "alpha")

    await eventually(left, lambda names: names == set(), what="the skill removed from the sandbox")


async def test_workspace_skill_wins_on_id_conflict(
    client: httpx.AsyncClient,
    fake_model: FakeModelServer,
    fleet: list[str],
    sandboxes: FakeSandboxResolver,
    tmp_path: Path,
) -> None:
    await register(client, "deploy", make_skill(tmp_path, "deploy", "Deploy", "The operator's deploy steps."))
    await client.post("/api/admin/skills/deploy/enable", json={"agentId": "alpha"}, headers=H)
    sandbox = await sandboxes.for_agent("alpha")
    await sandbox.write_file(
        ".openhermit/skills/deploy/SKILL.md", b"---\nname: Local deploy\ndescription: This repo's way.\n---\n"
    )
    await sandbox.write_file(".openhermit/skills/notes/README.md", b"not a skill")
    index = (await client.get("/api/agents/alpha/skills", headers=H)).json()
    assert index == [
        {
            "id": "deploy",
            "name": "Local deploy",
            "description": "This repo's way.",
            "path": ".openhermit/skills/deploy",
            "source": "workspace",
        }
    ]
    prompt = await ask(client, fake_model, "alpha")
    assert "- **Local deploy**: This repo's way. — `file_read .openhermit/skills/deploy/SKILL.md`" in prompt
    assert "The operator's deploy steps." not in prompt


async def test_without_sandboxes_the_prompt_still_lists_skills(
    client: httpx.AsyncClient, fake_model: FakeModelServer, fleet: list[str], tmp_path: Path
) -> None:
    await register(client, "plain", make_skill(tmp_path, "plain", "Plain", "No sandbox needed."))
    await client.post("/api/admin/skills/plain/enable", headers=H)
    assert "- **Plain**: No sandbox needed." in await ask(client, fake_model, "beta")


async def test_a_skill_installed_while_the_sandbox_is_being_updated_is_mirrored_too(
    client: httpx.AsyncClient,
    fake_model: FakeModelServer,
    fleet: list[str],
    sandboxes: FakeSandboxResolver,
) -> None:
    def install(slug: str) -> Reply:
        skill = {"id": slug, "name": slug.title(), "description": f"The {slug} skill.", "markdown": "Steps."}
        return Reply(tool_calls=[("skill_install", skill)])

    async def learn(slug: str) -> None:
        fake_model.script(install(slug), Reply(text="installed"))
        answer = await client.post(
            "/api/agents/alpha/sessions/s/messages", params={"wait": "true"}, json={"text": slug}, headers=H
        )
        assert answer.json()["toolCalls"][0]["isError"] is False

    await learn("first")
    sandbox = await sandboxes.for_agent("alpha")
    plain_sync = sandbox.sync_skills
    gate = asyncio.Event()
    syncing = asyncio.Event()

    async def slow_sync(skills: Any) -> None:  # a slow sandbox: the first mirror waits for the gate
        syncing.set()
        await gate.wait()
        await plain_sync(skills)

    sandbox.sync_skills = slow_sync  # type: ignore[method-assign]
    await learn("second")  # this turn's start mirrored "first" only, and is still at it
    await syncing.wait()
    await ask(client, fake_model, "alpha")  # sees "second" enabled while that mirror runs
    gate.set()

    async def mirrored() -> set[str]:
        return skill_files(sandboxes, "alpha")

    names = await eventually(
        mirrored,
        lambda found: ".openhermit/skills/user/second/SKILL.md" in found,
        what="the second skill mirrored",
    )
    assert ".openhermit/skills/user/first/SKILL.md" in names
