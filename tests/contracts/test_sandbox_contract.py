"""The contract every sandbox backend passes (parametrised over the installed backends)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openhermit.sandbox.base import (
    OUTPUT_CAP_BYTES,
    SKILLS_DIR,
    Sandbox,
    SandboxFileNotFound,
    SandboxPathError,
    SkillBundle,
)
from tests.contracts.sandbox_backends import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
async def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with BACKENDS[request.param](tmp_path / "workspace", "agent-one") as box:
        await box.ensure()
        yield box


async def test_it_is_a_sandbox(sandbox: Sandbox) -> None:
    assert isinstance(sandbox, Sandbox)
    assert sandbox.agent_home.startswith("/")


async def test_exec_returns_stdout_and_exit_code(sandbox: Sandbox) -> None:
    result = await sandbox.exec("python3 -c 'print(6*7)'")
    assert (result.stdout.strip(), result.exit_code, result.timed_out) == ("42", 0, False)
    failed = await sandbox.exec("echo oops >&2; exit 3")
    assert (failed.stderr.strip(), failed.exit_code) == ("oops", 3)


async def test_exec_runs_in_agent_home_and_sees_files(sandbox: Sandbox) -> None:
    await sandbox.write_file("notes/a.txt", b"hello")
    result = await sandbox.exec("pwd; cat notes/a.txt")
    assert result.stdout.splitlines() == [sandbox.agent_home, "hello"]
    in_sub = await sandbox.exec("pwd", cwd="notes")
    assert in_sub.stdout.strip() == sandbox.agent_home + "/notes"


async def test_exec_output_written_inside_is_readable_outside(sandbox: Sandbox) -> None:
    await sandbox.exec("mkdir -p out && printf 'made inside' > out/r.txt")
    assert await sandbox.read_file("out/r.txt") == b"made inside"
    assert (await sandbox.stat("out/r.txt")).size == len("made inside")


async def test_exec_env_is_passed(sandbox: Sandbox) -> None:
    result = await sandbox.exec('echo "$GREETING"', env={"GREETING": "hi there"})
    assert result.stdout.strip() == "hi there"


async def test_exec_output_is_capped(sandbox: Sandbox) -> None:
    result = await sandbox.exec("head -c 400000 /dev/zero | tr '\\0' x")
    assert result.truncated
    assert len(result.stdout.encode()) == OUTPUT_CAP_BYTES
    assert result.exit_code == 0


async def test_exec_timeout_kills(sandbox: Sandbox) -> None:
    result = await sandbox.exec("echo started; sleep 30", timeout_seconds=1)
    assert result.timed_out
    assert result.exit_code != 0
    assert "started" in result.stdout


async def test_files_round_trip_list_stat_delete(sandbox: Sandbox) -> None:
    await sandbox.write_file("dir/one.txt", b"1")
    await sandbox.write_file(sandbox.agent_home + "/dir/two.bin", bytes(range(256)))
    assert await sandbox.read_file("dir/two.bin") == bytes(range(256))
    listing = await sandbox.list_files("dir")
    assert [(f.path, f.kind, f.size) for f in listing] == [
        ("dir/one.txt", "file", 1),
        ("dir/two.bin", "file", 256),
    ]
    assert (await sandbox.stat("dir")).kind == "dir"
    await sandbox.write_file("dir/one.txt", b"replaced")
    assert await sandbox.read_file("dir/one.txt") == b"replaced"
    await sandbox.delete("dir/one.txt")
    with pytest.raises(SandboxFileNotFound):
        await sandbox.read_file("dir/one.txt")
    with pytest.raises(SandboxPathError):
        await sandbox.delete("dir")
    await sandbox.delete("dir", recursive=True)
    with pytest.raises(SandboxFileNotFound):
        await sandbox.stat("dir")


async def test_paths_outside_home_are_refused(sandbox: Sandbox) -> None:
    for bad in ("../escape.txt", "/etc/passwd", "a/../../x"):
        with pytest.raises(SandboxPathError):
            await sandbox.write_file(bad, b"x")
        with pytest.raises(SandboxPathError):
            await sandbox.read_file(bad)


async def test_symlink_out_of_home_is_refused(sandbox: Sandbox) -> None:
    if not sandbox.capabilities.local_files:
        pytest.skip("files live in the sandbox itself: a symlink cannot reach the gateway's machine")
    await sandbox.exec("ln -s /etc/hostname link")
    with pytest.raises(SandboxPathError):
        await sandbox.read_file("link")
    with pytest.raises(SandboxPathError):
        await sandbox.write_file("link", b"x")


async def test_missing_files(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxFileNotFound):
        await sandbox.read_file("nope.txt")
    with pytest.raises(SandboxFileNotFound):
        await sandbox.list_files("nope")
    with pytest.raises(SandboxFileNotFound):
        await sandbox.delete("nope.txt")


async def test_sync_skills_places_exactly_the_given_skills(sandbox: Sandbox, tmp_path: Path) -> None:
    source = tmp_path / "skills" / "greet"
    (source / "scripts").mkdir(parents=True)
    (source / "SKILL.md").write_text("# greet")
    (source / "scripts" / "run.sh").write_text("echo hi")
    await sandbox.sync_skills([SkillBundle(id="greet", source="user", source_path=source)])
    assert await sandbox.read_file(f"{SKILLS_DIR}/user/greet/SKILL.md") == b"# greet"
    seen = await sandbox.exec(f"cat {SKILLS_DIR}/user/greet/scripts/run.sh")
    assert seen.stdout == "echo hi"
    await sandbox.sync_skills([])
    with pytest.raises(SandboxFileNotFound):
        await sandbox.stat(f"{SKILLS_DIR}/user/greet")


async def test_files_survive_shutdown_when_persistent(sandbox: Sandbox) -> None:
    await sandbox.write_file("keep.txt", b"kept")
    await sandbox.shutdown()
    await sandbox.ensure()
    if sandbox.capabilities.persistent:
        assert await sandbox.read_file("keep.txt") == b"kept"
    assert (await sandbox.exec("echo back")).stdout.strip() == "back"
