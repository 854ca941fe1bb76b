"""The installed `hermit` command, run as a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from openhermit.store import migrate
from openhermit.testing.gateway_process import base_env, free_port

pytestmark = pytest.mark.e2e
HERMIT = shutil.which("hermit", path=str(Path(sys.executable).parent)) or "hermit"


def hermit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HERMIT, *args], env=env, capture_output=True, text=True, timeout=120)


def test_help_lists_commands(tmp_path: Path) -> None:
    result = hermit("--help", env=base_env(tmp_path))
    assert result.returncode == 0
    assert "gateway" in result.stdout
    assert "db" in result.stdout


def test_db_upgrade_against_a_server(tmp_path: Path, empty_db_url: str) -> None:
    result = hermit("db", "upgrade", env=base_env(tmp_path, DATABASE_URL=empty_db_url))
    assert result.returncode == 0, result.stderr
    assert f"database at revision {migrate.heads()[0]}" in result.stdout


def test_db_upgrade_unreachable_is_one_line(tmp_path: Path) -> None:
    env = base_env(tmp_path, DATABASE_URL=f"postgresql://x@127.0.0.1:{free_port()}/x")
    result = hermit("db", "upgrade", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("hermit: DATABASE_URL: cannot connect to 127.0.0.1")
    assert len(result.stderr.strip().splitlines()) == 1
