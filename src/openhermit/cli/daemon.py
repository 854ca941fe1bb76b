"""Background processes (`hermit gateway start|stop|status`): pid and log files, health waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from openhermit.config import Settings


@dataclass(frozen=True)
class Daemon:
    name: str
    module: str
    pid_file: Path
    log_file: Path
    health_url: str

    @classmethod
    def gateway(cls, settings: Settings) -> Daemon:
        return cls(
            "gateway",
            "openhermit.gateway",
            settings.gateway_dir / "gateway.pid",
            settings.gateway_dir / "gateway.log",
            f"http://{settings.host}:{settings.port}/health",
        )

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if psutil.pid_exists(pid) else None

    def healthy(self, timeout: float = 2.0) -> bool:
        try:
            return httpx.get(self.health_url, timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, wait_seconds: float = 60.0) -> int:
        """Start in the background and wait until healthy; raises RuntimeError with the log tail."""
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise RuntimeError(self.log_tail() or f"the {self.name} exited with {process.returncode}")
            if self.healthy(timeout=1.0):
                return process.pid
            time.sleep(0.2)
        raise RuntimeError(
            f"the {self.name} did not become healthy in {wait_seconds:.0f}s; see {self.log_file}"
        )

    def stop(self, wait_seconds: float = 20.0) -> bool:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline and psutil.pid_exists(pid):
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)
        if psutil.pid_exists(pid):
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    os.kill(pid, signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        errors = [line for line in tail if line.startswith("openhermit:")]
        return errors[-1].removeprefix("openhermit: ") if errors else "\n".join(tail)
