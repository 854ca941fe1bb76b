"""Start the real gateway as a subprocess on 127.0.0.1 and wait for it (tests and benchmarks)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from openhermit.config import inherited_environment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = inherited_environment(without_prefixes=("OPENHERMIT_", "GATEWAY_", "DATABASE_URL"))
    env.pop("PORT", None)
    env.update({"OPENHERMIT_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


class GatewayProcess:
    def __init__(self, home: Path, port: int | None = None, **env: str) -> None:
        self.home = home
        self.port = port or free_port()
        self.env = base_env(home, GATEWAY_PORT=str(self.port), **env)
        self.log = home.parent / f"gateway-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> GatewayProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "openhermit.gateway"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"gateway did not become healthy:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def run_gateway_expecting_failure(
    home: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openhermit.gateway"],
        env=base_env(home, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
