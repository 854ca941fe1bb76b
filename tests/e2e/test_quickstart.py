"""The quickstart of the README, run as a user would: the installed `hermit`, a real gateway."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import base_env, free_port

pytestmark = pytest.mark.e2e
HERMIT = shutil.which("hermit", path=str(Path(sys.executable).parent)) or "hermit"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = base_env(tmp_path / "home", GATEWAY_PORT=str(free_port()), FAKE_API_KEY="sk-fake")
    yield env
    subprocess.run([HERMIT, "gateway", "stop"], env=env, capture_output=True, timeout=60)


def hermit(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HERMIT, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def ok(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = hermit(env, *args, stdin=stdin)
    assert result.returncode == 0, f"hermit {' '.join(args)}: {result.stderr}{result.stdout}"
    return result.stdout


def test_quickstart(home: dict[str, str], fake_model: FakeModelServer) -> None:
    ok(home, "setup", "--non-interactive")
    env_file = Path(home["OPENHERMIT_HOME"]) / "gateway" / ".env"
    assert "GATEWAY_ADMIN_TOKEN=" in env_file.read_text()
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert "Gateway running" in ok(home, "gateway", "start")
    assert "gateway: ok" in ok(home, "status")
    doctor = ok(home, "doctor")
    assert "ok   gateway" in doctor
    ok(home, "agents", "create", "main")
    assert "running" in ok(home, "agents", "start", "main")
    # Point `main` at the fake model server (the quickstart's model is a real provider).
    for path, value in (
        ("model.provider", "fake"),
        ("model.model", "fake-model"),
        ("model.base_url", fake_model.openai_base_url),
        ("model.api", "openai-completions"),
    ):
        ok(home, "config", "set", path, value, "--agent", "main")
    fake_model.script(Reply(text="Hello from main!"))
    chat = ok(home, "chat", "--agent", "main", stdin="hello\n")
    assert "Hello from main!" in chat
    assert fake_model.received[-1].body["messages"][-1]["content"] == "hello"
    fanout = ok(home, "instructions", "append", "rules", "Never share PII.", "--all")
    assert "1 agent(s)" in fanout
    assert "Never share PII." in ok(home, "instructions", "get", "rules", "--agent", "main")
    ok(home, "config", "secrets", "set", "OPENROUTER_API_KEY", "sk-test", "--agent", "main")
    listed = ok(home, "config", "secrets", "list", "--agent", "main", "--json")
    assert '"masked": "*******"' in listed
    assert "sk-test" not in listed
    assert "main" in ok(home, "agents", "list")
    assert "Gateway stopped" in ok(home, "gateway", "stop")


def test_clear_failures(home: dict[str, str]) -> None:
    down = hermit(home, "agents", "list")
    assert down.returncode != 0
    assert down.stderr.startswith("hermit: cannot reach the gateway")
    assert "Traceback" not in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1

    ok(home, "setup", "--non-interactive")
    ok(home, "gateway", "start")
    wrong = hermit({**home, "OPENHERMIT_TOKEN": "wrong"}, "agents", "list")
    assert wrong.returncode != 0
    assert "401" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    missing = hermit(home, "config", "show", "--agent", "ghost")
    assert missing.returncode != 0
    assert "404" in missing.stderr
    assert "Traceback" not in missing.stderr + wrong.stderr


def test_security_policy_and_approvals_commands(home: dict[str, str]) -> None:
    ok(home, "setup", "--non-interactive")
    ok(home, "gateway", "start")
    ok(home, "agents", "create", "main")
    ok(home, "config", "security", "set", "access", "protected", "--agent", "main")
    assert '"access": "protected"' in ok(home, "config", "security", "show", "--agent", "main")
    bad = hermit(home, "config", "security", "set", "access", "secret", "--agent", "main")
    assert bad.returncode != 0
    assert "access must be one of" in bad.stderr
    ok(
        home,
        "config",
        "policy",
        "set",
        "memory_add",
        '[{"type": "role", "value": "owner"}]',
        "--effect",
        "require_approval",
        "--agent",
        "main",
    )
    listed = ok(home, "config", "policy", "list", "--agent", "main", "--json")
    assert '"resourceKey": "memory_add"' in listed
    ok(home, "config", "policy", "delete", "memory_add", "--agent", "main")
    assert ok(home, "config", "policy", "list", "--agent", "main", "--json").strip() == "[]"
    assert ok(home, "config", "approvals", "list", "--agent", "main", "--json").strip() == "[]"
    missing = hermit(home, "config", "approvals", "review", "#99", "approved", "--agent", "main")
    assert missing.returncode != 0
    assert "404" in missing.stderr
