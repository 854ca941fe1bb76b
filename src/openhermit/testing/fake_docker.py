"""A small Docker Engine API server on 127.0.0.1 for tests of the `docker` sandbox backend.

It speaks the part of the Engine API the `docker` SDK uses for a sandbox: version, image
inspect/pull, container create/inspect/start/stop/delete, exec create/start/inspect (the
multiplexed raw stream). A "container" is a bubblewrap mount namespace over the host's root with
the container's binds applied, so commands see the bind-mounted workspace at its container path;
image contents are not emulated. Needs `bwrap`.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import socket
import struct
import subprocess
import termios
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import psutil

API_VERSION = "1.44"


@dataclass
class FakeContainer:
    id: str
    name: str
    image: str
    binds: list[str]
    working_dir: str
    env: list[str]
    labels: dict[str, str]
    host_config: dict[str, Any]
    running: bool = False


@dataclass
class FakeExec:
    id: str
    container: FakeContainer
    cmd: list[str]
    env: list[str]
    workdir: str | None
    exit_code: int | None = None


@dataclass
class FakeEngineState:
    images: set[str] = field(default_factory=set)
    containers: dict[str, FakeContainer] = field(default_factory=dict)
    execs: dict[str, FakeExec] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def find(self, ref: str) -> FakeContainer | None:
        for container in self.containers.values():
            if ref in (container.id, container.name, "/" + container.name) or container.id.startswith(ref):
                return container
        return None


def _frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


def _run_in_container(box: FakeExec) -> subprocess.Popen[bytes]:
    argv = ["bwrap", "--dev-bind", "/", "/", "--die-with-parent", "--unshare-pid", "--proc", "/proc"]
    for bind in box.container.binds:
        source, target, *_ = bind.split(":")
        argv += ["--bind", source, target]
    argv += ["--chdir", box.workdir or box.container.working_dir or "/", "--clearenv"]
    env = dict(item.split("=", 1) for item in [*box.container.env, *box.env] if "=" in item)
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return subprocess.Popen(
        [*argv, "--", *box.cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={},
        start_new_session=True,
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeDockerServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # Plumbing ---------------------------------------------------------------------------------
    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw.strip() else {}

    def _send(self, status: int, payload: Any = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Api-Version", API_VERSION)
        self.end_headers()
        self.wfile.write(data)

    def _missing(self, what: str) -> None:
        self._send(404, {"message": f"No such {what}"})

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        path = re.sub(r"^/v[0-9.]+", "", url.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        state = self.server.state
        with state.lock:
            state.calls.append(f"{method} {path}")
        handler = getattr(self, f"_{method.lower()}", None)
        if handler is None or not handler(path, query, state):
            self._send(404, {"message": f"page not found: {method} {path}"})

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    # Endpoints --------------------------------------------------------------------------------
    def _get(self, path: str, query: dict[str, str], state: FakeEngineState) -> bool:
        if path in ("/_ping", "/version"):
            if path == "/_ping":
                self._send(200, "OK")
            else:
                self._send(200, {"ApiVersion": API_VERSION, "Version": "fake", "MinAPIVersion": "1.24"})
            return True
        if match := re.fullmatch(r"/images/(.+)/json", path):
            image = match.group(1)
            if image not in state.images:
                self._missing(f"image: {image}")
            else:
                self._send(
                    200, {"Id": "sha256:" + uuid.uuid5(uuid.NAMESPACE_URL, image).hex, "RepoTags": [image]}
                )
            return True
        if match := re.fullmatch(r"/containers/([^/]+)/json", path):
            container = state.find(match.group(1))
            if container is None:
                self._missing(f"container: {match.group(1)}")
            else:
                self._send(200, self._inspect(container))
            return True
        if match := re.fullmatch(r"/exec/([^/]+)/json", path):
            box = state.execs.get(match.group(1))
            if box is None:
                self._missing("exec instance")
            else:
                running = box.exit_code is None
                self._send(200, {"ID": box.id, "Running": running, "ExitCode": box.exit_code, "Pid": 0})
            return True
        return False

    def _inspect(self, container: FakeContainer) -> dict[str, Any]:
        status = "running" if container.running else "exited"
        return {
            "Id": container.id,
            "Name": "/" + container.name,
            "Image": container.image,
            "State": {"Status": status, "Running": container.running},
            "Config": {"Image": container.image, "Labels": container.labels, "Env": container.env},
            "HostConfig": container.host_config,
        }

    def _post(self, path: str, query: dict[str, str], state: FakeEngineState) -> bool:
        body = self._body()
        if path == "/images/create":
            image = f"{query.get('fromImage')}:{query.get('tag') or 'latest'}"
            state.images.add(image)
            self._send(200, {"status": f"Downloaded newer image for {image}"})
            return True
        if path == "/containers/create":
            name = query.get("name") or uuid.uuid4().hex[:12]
            if state.find(name) is not None:
                self._send(409, {"message": f"Conflict. The container name /{name} is already in use"})
                return True
            if body.get("Image") not in state.images:
                self._missing(f"image: {body.get('Image')}")
                return True
            host = body.get("HostConfig") or {}
            container = FakeContainer(
                id=uuid.uuid4().hex + uuid.uuid4().hex,
                name=name,
                image=body["Image"],
                binds=list(host.get("Binds") or []),
                working_dir=body.get("WorkingDir") or "/",
                env=list(body.get("Env") or []),
                labels=dict(body.get("Labels") or {}),
                host_config=host,
            )
            state.containers[container.id] = container
            self._send(201, {"Id": container.id, "Warnings": []})
            return True
        if match := re.fullmatch(r"/containers/([^/]+)/(start|stop|kill|exec)", path):
            container = state.find(match.group(1))
            if container is None:
                self._missing(f"container: {match.group(1)}")
                return True
            action = match.group(2)
            if action == "exec":
                if not container.running:
                    self._send(409, {"message": f"Container {container.id} is not running"})
                    return True
                box = FakeExec(
                    uuid.uuid4().hex, container, body["Cmd"], body.get("Env") or [], body.get("WorkingDir")
                )
                state.execs[box.id] = box
                self._send(201, {"Id": box.id})
                return True
            container.running = action == "start"
            self._send(204)
            return True
        if match := re.fullmatch(r"/exec/([^/]+)/start", path):
            box = state.execs.get(match.group(1))
            if box is None:
                self._missing("exec instance")
                return True
            self._stream_exec(box)
            return True
        return False

    def _stream_exec(self, box: FakeExec) -> None:
        """The raw-stream answer: headers, then stdout/stderr frames, then the socket closes."""
        self.send_response(101 if self.headers.get("Upgrade") else 200)
        self.send_header("Content-Type", "application/vnd.docker.raw-stream")
        if self.headers.get("Upgrade"):
            self.send_header("Connection", "Upgrade")
            self.send_header("Upgrade", "tcp")
        self.end_headers()
        self.wfile.flush()
        self._wait_until_headers_are_read()
        proc = _run_in_container(box)
        out, err = proc.communicate()
        box.exit_code = proc.returncode
        if out:
            self.wfile.write(_frame(1, out))
        if err:
            self.wfile.write(_frame(2, err))
        self.wfile.flush()
        self.close_connection = True

    def _wait_until_headers_are_read(self) -> None:
        """The client parses the headers with a buffered reader, then reads the frames from the
        raw socket: frames already queued behind the headers would vanish into that buffer. So
        the frames wait until the client (a thread of this process in tests) has read the
        headers; a client in another process gets a short pause instead."""
        client = _client_fd(self.connection)
        if client is None:
            time.sleep(0.05)
            return
        deadline = time.monotonic() + 30
        try:
            # Delivered (acknowledged) and then consumed: nothing left in the client's queue.
            while _queued(self.connection.fileno(), termios.TIOCOUTQ) or _queued(client, termios.FIONREAD):
                if time.monotonic() > deadline:
                    return
                time.sleep(0.002)
        except OSError:  # the client closed its end meanwhile
            return

    def _delete(self, path: str, query: dict[str, str], state: FakeEngineState) -> bool:
        if match := re.fullmatch(r"/containers/([^/]+)", path):
            container = state.find(match.group(1))
            if container is None:
                self._missing(f"container: {match.group(1)}")
            else:
                del state.containers[container.id]
                self._send(204)
            return True
        return False

    def _head(self, path: str, query: dict[str, str], state: FakeEngineState) -> bool:
        return self._get(path, query, state)


def _client_fd(connection: socket.socket) -> int | None:
    """The descriptor of the client end of `connection`, when the client is this process."""
    server_end, client_end = connection.getsockname(), connection.getpeername()
    for conn in psutil.Process().net_connections(kind="tcp4"):
        if tuple(conn.laddr) == client_end and tuple(conn.raddr) == server_end:
            return conn.fd
    return None


def _queued(fd: int, request: int) -> int:
    """Bytes still queued on a socket: unacknowledged (TIOCOUTQ) or unread (FIONREAD)."""
    return int(struct.unpack("i", fcntl.ioctl(fd, request, b"\0\0\0\0"))[0])


class FakeDockerServer(ThreadingHTTPServer):
    """`with FakeDockerServer() as engine: DockerClient(base_url=engine.base_url)`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = FakeEngineState()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"tcp://127.0.0.1:{self.server_address[1]}"

    @staticmethod
    def usable() -> bool:
        return shutil.which("bwrap") is not None

    def __enter__(self) -> FakeDockerServer:
        self._thread = threading.Thread(target=self.serve_forever, name="fake-docker", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
