"""Security properties of the `local` (bubblewrap) sandbox: each test fails if isolation breaks."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest

from openhermit.sandbox.base import Sandbox
from openhermit.sandbox.registry import build, unavailable_reason
from tests.contracts.sandbox_backends import spec
from tests.polling import eventually

pytestmark = pytest.mark.skipif(
    unavailable_reason("local") is not None,
    reason=f"local sandbox unavailable: {unavailable_reason('local')}",
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A stand-in for $OPENHERMIT_HOME holding gateway secrets and two agents' workspaces."""
    root = tmp_path / "openhermit-home"
    (root / "gateway").mkdir(parents=True)
    (root / "gateway" / ".env").write_text("GATEWAY_ADMIN_TOKEN=top-secret-admin-token\n")
    return root


@pytest.fixture
async def box(home: Path) -> AsyncIterator[Sandbox]:
    sandbox = build("local", spec(home / "workspaces" / "alice", "alice"))
    await sandbox.ensure()
    yield sandbox
    await sandbox.shutdown()


async def test_gateway_environment_is_not_visible(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENHERMIT_CANARY", canary)
    result = await box.exec("env; cat /proc/*/environ 2>/dev/null; cat /proc/self/environ")
    assert canary not in result.stdout + result.stderr
    assert "OPENHERMIT_CANARY" not in result.stdout
    passed = await box.exec("echo $VISIBLE", env={"VISIBLE": "only-this"})
    assert passed.stdout.strip() == "only-this"


async def test_openhermit_home_is_not_visible(box: Sandbox, home: Path) -> None:
    result = await box.exec(
        f"cat {home}/gateway/.env; ls {home}; find / -maxdepth 4 -name .env 2>/dev/null | xargs -r cat"
    )
    assert "top-secret-admin-token" not in result.stdout
    assert "No such file" in result.stderr


@pytest.fixture
def listening_server() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


async def test_network_is_cut(box: Sandbox, listening_server: int) -> None:
    probe = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {listening_server}), timeout=3); print('CONNECTED')\n"
        "except OSError as e:\n"
        "    print('refused', e)\n"
    )
    await box.write_file("probe.py", probe.encode())
    result = await box.exec("python3 probe.py")
    assert "refused" in result.stdout
    assert "CONNECTED" not in result.stdout


async def test_cannot_write_outside_the_workspace(box: Sandbox, tmp_path: Path) -> None:
    marker = f"escape-{uuid.uuid4().hex}"
    result = await box.exec(
        f"for d in /usr /etc /tmp {tmp_path} /; do"
        f" echo x > $d/{marker} 2>/dev/null && echo WROTE $d; done; true"
    )
    wrote = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("WROTE")]
    assert set(wrote) <= {"/tmp"}  # the sandbox's own, private /tmp
    leaked = [f for f in ("/usr", "/etc", "/tmp", str(tmp_path), "/") if Path(f, marker).exists()]  # noqa: ASYNC240
    assert leaked == []


async def test_cannot_see_another_agents_workspace(box: Sandbox, home: Path) -> None:
    bob = build("local", spec(home / "workspaces" / "bob", "bob", sid="bob"))
    await bob.write_file("diary.txt", b"bob's private diary")
    result = await box.exec(
        f"ls /home; ls ..; cat {home}/workspaces/bob/diary.txt ../bob/diary.txt;"
        " find / -maxdepth 4 -name diary.txt 2>/dev/null | xargs -r cat"
    )
    assert "bob's private diary" not in result.stdout
    assert result.stdout.split()[:2] == ["agent", "agent"]


def _processes_with(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if marker in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


async def test_timeout_kills_the_command_and_its_children(box: Sandbox) -> None:
    marker = "317.25"  # an unusual sleep length names our processes
    result = await box.exec(
        f"(sleep {marker} &) ; sh -c 'sleep {marker}' & sleep {marker}; echo never", timeout_seconds=1
    )
    assert result.timed_out
    assert "never" not in result.stdout

    async def left() -> list[psutil.Process]:
        return _processes_with(f"sleep {marker}")

    await eventually(left, lambda found: found == [], what="every sleep of the command killed")


async def test_fork_bomb_is_contained(box: Sandbox) -> None:
    before = len(psutil.pids())
    result = await box.exec("bomb() { bomb | bomb & }; bomb; sleep 3; echo survived", timeout_seconds=8)
    assert result.exit_code == 0 or result.timed_out
    # The host keeps working: it can still start processes, and the bomb left nothing behind.
    healthy = await asyncio.create_subprocess_exec("true")
    assert await healthy.wait() == 0

    async def processes() -> int:
        return len(psutil.pids())

    await eventually(processes, lambda count: count < before + 50, what="the bomb's processes gone")
    again = await box.exec("echo fine")
    assert again.stdout.strip() == "fine"


async def test_huge_allocation_is_contained(box: Sandbox) -> None:
    result = await box.exec("python3 -c 'b = bytearray(10 * 1024**3); print(\"ALLOCATED\")'")
    assert "ALLOCATED" not in result.stdout
    assert result.exit_code != 0
    assert "MemoryError" in result.stderr
    assert psutil.Process(os.getpid()).memory_info().rss < 2 * 1024**3
