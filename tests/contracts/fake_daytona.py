"""A local stand-in for Daytona, enough for the sandbox contract suite, driven by the `daytona` SDK.

One HTTP server on 127.0.0.1: the control plane (`POST /sandbox`, `GET/DELETE /sandbox/{id}`)
and the toolbox behind `toolboxProxyUrl` (`/toolbox/{id}/process/execute`, `/files`,
`/files/info`, `/files/folder`, `/files/bulk-upload`, `/files/bulk-download` with its multipart
answer). A sandbox is a folder on this machine; commands run under bubblewrap with it mounted at
the sandbox home. Not covered: snapshots/images, sessions, PTY, git, LSP, previews.
"""

from __future__ import annotations

import asyncio
import shutil
import stat as st
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.contracts.fake_servers import ThreadedServer, sandbox_argv

HOME = "/home/daytona"


@dataclass
class FakeBox:
    id: str
    root: Path
    env: dict[str, str]
    labels: dict[str, str]


class FakeDaytona(ThreadedServer):
    """`with FakeDaytona() as d:` then `DaytonaConfig(api_key="x", api_url=d.url, target="local")`."""

    def __init__(self) -> None:
        self.boxes: dict[str, FakeBox] = {}
        self.calls: list[str] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-daytona-")

    def _dto(self, box: FakeBox) -> dict[str, Any]:
        return {
            "id": box.id,
            "organizationId": "org-fake",
            "name": box.id,
            "user": "daytona",
            "env": box.env,
            "labels": box.labels,
            "public": False,
            "networkBlockAll": False,
            "kvm": False,
            "target": "local",
            "cpu": 1,
            "gpu": 0,
            "memory": 1,
            "disk": 3,
            "state": "started",
            "toolboxProxyUrl": f"{self.url}/toolbox",
        }

    def _box(self, request: Request) -> FakeBox | None:
        return self.boxes.get(request.path_params["sid"])

    def _host(self, box: FakeBox, path: str) -> Path | None:
        if path != HOME and not path.startswith(HOME + "/"):
            return None
        return box.root / path[len(HOME) :].lstrip("/")

    def _info(self, host: Path, path: str) -> dict[str, Any]:
        meta = host.lstat()
        moment = datetime.fromtimestamp(meta.st_mtime, UTC)
        return {
            "name": host.name,
            "path": path,
            "isDir": st.S_ISDIR(meta.st_mode),
            "size": meta.st_size,
            "mode": oct(meta.st_mode & 0o777),
            "permissions": st.filemode(meta.st_mode),
            "owner": "daytona",
            "group": "daytona",
            "modTime": str(moment),
            "modifiedAt": moment.isoformat(),
        }

    @staticmethod
    def _missing(what: str) -> JSONResponse:
        return JSONResponse({"statusCode": 404, "message": f"{what} not found", "code": "NOT_FOUND"}, 404)

    # Control plane ----------------------------------------------------------------------------
    async def create(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.calls.append("POST /sandbox")
        sid = "fake-" + uuid.uuid4().hex[:10]
        root = Path(self._tmp.name) / sid
        root.mkdir()
        box = FakeBox(sid, root, dict(body.get("env") or {}), dict(body.get("labels") or {}))
        self.boxes[sid] = box
        return JSONResponse(self._dto(box))

    async def sandbox(self, request: Request) -> Response:
        box = self._box(request)
        if box is None:
            return self._missing("Sandbox")
        if request.method == "DELETE":
            self.calls.append(f"DELETE /sandbox/{box.id}")
            del self.boxes[box.id]
            shutil.rmtree(box.root, ignore_errors=True)
            return JSONResponse(self._dto(box) | {"state": "destroyed"})
        return JSONResponse(self._dto(box))

    # Toolbox ------------------------------------------------------------------------------------
    async def execute(self, request: Request) -> Response:
        box = self._box(request)
        if box is None:
            return self._missing("Sandbox")
        body = await request.json()
        argv = sandbox_argv(box.root, HOME, body.get("cwd"), {**box.env, **(body.get("envs") or {})})
        proc = await asyncio.create_subprocess_exec(
            *argv,
            "sh",
            "-c",
            body["command"],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={},
            start_new_session=True,
        )
        output, _ = await proc.communicate()
        return JSONResponse({"exitCode": proc.returncode, "result": output.decode("utf-8", "replace")})

    async def files(self, request: Request) -> Response:
        box = self._box(request)
        path = request.query_params.get("path", "")
        host = self._host(box, path) if box else None
        if host is None or not (host.exists() or host.is_symlink()):
            return self._missing(f"File {path}")
        if request.method == "DELETE":
            if host.is_dir() and not host.is_symlink():
                if request.query_params.get("recursive") != "true":
                    return JSONResponse({"statusCode": 400, "message": "is a directory"}, 400)
                shutil.rmtree(host)
            else:
                host.unlink()
            return Response(status_code=204)
        if request.url.path.endswith("/info"):
            return JSONResponse(self._info(host, path))
        if not host.is_dir():
            return JSONResponse({"statusCode": 400, "message": "not a directory"}, 400)
        return JSONResponse([self._info(child, f"{path}/{child.name}") for child in sorted(host.iterdir())])

    async def folder(self, request: Request) -> Response:
        box = self._box(request)
        host = self._host(box, request.query_params.get("path", "")) if box else None
        if host is None:
            return self._missing("Sandbox")
        host.mkdir(parents=True, exist_ok=True)
        return Response(status_code=201)

    async def upload(self, request: Request) -> Response:
        box = self._box(request)
        if box is None:
            return self._missing("Sandbox")
        form = await request.form()
        paths = {k.removesuffix(".path"): v for k, v in form.multi_items() if k.endswith(".path")}
        for key, part in form.multi_items():
            if not key.endswith(".file"):
                continue
            # The destination is the (URL-quoted) filename, or a sidecar `files[i].path` field.
            target = unquote(str(paths.get(key.removesuffix(".file")) or getattr(part, "filename", "") or ""))
            host = self._host(box, target)
            if host is None:
                await form.close()
                return JSONResponse({"statusCode": 400, "message": f"{target} is outside {HOME}"}, 400)
            host.parent.mkdir(parents=True, exist_ok=True)
            host.write_bytes(await part.read())  # type: ignore[union-attr]
        await form.close()
        return Response(status_code=200)

    async def download(self, request: Request) -> Response:
        box = self._box(request)
        if box is None:
            return self._missing("Sandbox")
        paths = (await request.json()).get("paths") or []
        boundary = uuid.uuid4().hex
        chunks: list[bytes] = []
        for path in paths:
            host = self._host(box, path)
            if host is not None and host.is_file():
                head = f'Content-Disposition: form-data; name="file"; filename="{path}"\r\n'
                head += "Content-Type: application/octet-stream\r\n\r\n"
                data = host.read_bytes()
            else:
                head = f'Content-Disposition: form-data; name="error"; filename="{path}"\r\n'
                head += "Content-Type: application/json\r\n\r\n"
                data = b'{"message": "file not found", "statusCode": 404, "code": "FILE_NOT_FOUND"}'
            chunks.append(f"--{boundary}\r\n{head}".encode() + data + b"\r\n")
        chunks.append(f"--{boundary}--\r\n".encode())
        return Response(b"".join(chunks), media_type=f"multipart/form-data; boundary={boundary}")

    def app(self) -> Starlette:
        t = "/toolbox/{sid}"
        return Starlette(
            routes=[
                Route("/sandbox", self.create, methods=["POST"]),
                Route("/sandbox/{sid}", self.sandbox, methods=["GET", "DELETE"]),
                Route(f"{t}/process/execute", self.execute, methods=["POST"]),
                Route(f"{t}/files", self.files, methods=["GET", "DELETE"]),
                Route(f"{t}/files/info", self.files, methods=["GET"]),
                Route(f"{t}/files/folder", self.folder, methods=["POST"]),
                Route(f"{t}/files/bulk-upload", self.upload, methods=["POST"]),
                Route(f"{t}/files/bulk-download", self.download, methods=["POST"]),
            ]
        )

    def __enter__(self) -> FakeDaytona:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._tmp.cleanup()
