"""What the fake vendor servers share: serving an ASGI app on 127.0.0.1 from a thread, and running
a command in a "sandbox" (a bubblewrap mount namespace with a folder at the sandbox home)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvicorn


def sandbox_argv(root: Path, home: str, cwd: str | None, env: Mapping[str, str]) -> list[str]:
    """bwrap options that show the host as it is, except `root` mounted at `home`."""
    argv = ["bwrap", "--dev-bind", "/", "/", "--bind", str(root), home, "--unshare-pid"]
    argv += ["--die-with-parent", "--proc", "/proc", "--chdir", cwd or home, "--clearenv"]
    for key, value in {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, **env}.items():
        argv += ["--setenv", key, value]
    return [*argv, "--"]


class ThreadedServer:
    """Serves `app()` with uvicorn on a free port of 127.0.0.1 while in the `with` block."""

    port = 0

    def app(self) -> Any:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=0, log_level="error", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=type(self).__name__, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
