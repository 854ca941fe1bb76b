"""A local stand-in for E2B, enough for the sandbox contract suite, driven by the `e2b` SDK.

One HTTP server on 127.0.0.1 answers both the control-plane REST API (`POST /v2/sandboxes`,
`DELETE /sandboxes/{id}`) and envd (`/health`, `/files`, and the Connect-RPC services
`process.Process/Start` and `filesystem.Filesystem/{Stat,ListDir,Remove,MakeDir}`, served by the
SDK's own generated server stubs). A sandbox is a folder on this machine; commands run under
bubblewrap with that folder mounted at the sandbox home, so paths look as they do in E2B. Not
covered: templates, pause/resume, PTY, stdin, watchers, metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from e2b.envd.filesystem import filesystem_pb as fs
from e2b.envd.filesystem.filesystem_connect import Filesystem as FilesystemService
from e2b.envd.filesystem.filesystem_connect import FilesystemASGIApplication
from e2b.envd.process import process_pb as pr
from e2b.envd.process.process_connect import Process as ProcessService
from e2b.envd.process.process_connect import ProcessASGIApplication
from protobuf import Oneof
from protobuf.wkt.google.protobuf.timestamp_pb import Timestamp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from tests.contracts.fake_servers import ThreadedServer, sandbox_argv

HOME = "/home/user"
ENVD_VERSION = "0.6.4"


@dataclass
class FakeBox:
    id: str
    root: Path  # the host folder seen as HOME inside
    envs: dict[str, str]


class FakeE2B(ThreadedServer):
    """`with FakeE2B() as e2b:` then `api_url=e2b.url, sandbox_url=e2b.url` in the SDK."""

    def __init__(self) -> None:
        self.boxes: dict[str, FakeBox] = {}
        self.calls: list[str] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-e2b-")

    # Sandbox lookup and paths ---------------------------------------------------------------
    def box(self, sandbox_id: str | None = None) -> FakeBox:
        if sandbox_id and sandbox_id in self.boxes:
            return self.boxes[sandbox_id]
        if not self.boxes:
            raise ConnectError(Code.NOT_FOUND, "sandbox not found")
        return list(self.boxes.values())[-1]

    def host(self, box: FakeBox, path: str) -> Path:
        if path != HOME and not path.startswith(HOME + "/"):
            raise ConnectError(Code.PERMISSION_DENIED, f"{path} is outside {HOME} in this fake")
        return box.root / path[len(HOME) :].lstrip("/")

    def entry(self, box: FakeBox, path: str) -> fs.EntryInfo:
        host = self.host(box, path)
        if not host.exists() and not host.is_symlink():
            raise ConnectError(Code.NOT_FOUND, f"no such file or directory: {path}")
        meta = host.lstat()
        kind = fs.FileType.DIRECTORY if host.is_dir() and not host.is_symlink() else fs.FileType.FILE
        moment = Timestamp(seconds=int(meta.st_mtime), nanos=0)
        return fs.EntryInfo(
            name=host.name,
            type=kind,
            path=path,
            size=meta.st_size,
            mode=meta.st_mode & 0o7777,
            permissions="",
            owner="user",
            group="user",
            modified_time=moment,
            is_symlink=host.is_symlink(),
        )

    # REST control plane ---------------------------------------------------------------------
    async def create(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.calls.append("POST /v2/sandboxes")
        sid = "fake" + uuid.uuid4().hex[:12]
        root = Path(self._tmp.name) / sid
        root.mkdir()
        self.boxes[sid] = FakeBox(sid, root, dict(body.get("envVars") or {}))
        answer = {
            "templateID": body.get("templateID", "base"),
            "sandboxID": sid,
            "clientID": "fake",
            "envdVersion": ENVD_VERSION,
            "envdAccessToken": None,
        }
        return JSONResponse(answer, status_code=201)

    async def kill(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        self.calls.append(f"DELETE /sandboxes/{sid}")
        box = self.boxes.pop(sid, None)
        if box is None:
            return JSONResponse({"code": 404, "message": "sandbox not found"}, status_code=404)
        shutil.rmtree(box.root, ignore_errors=True)
        return Response(status_code=204)

    # envd HTTP --------------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return Response(status_code=204)

    async def files(self, request: Request) -> Response:
        path = request.query_params.get("path", "")
        try:
            box = self.box(request.headers.get("e2b-sandbox-id"))
            host = self.host(box, path)
        except ConnectError as exc:
            return JSONResponse({"code": 403, "message": exc.message}, status_code=403)
        if request.method == "GET":
            if not host.is_file():
                return JSONResponse({"code": 404, "message": f"path not found: {path}"}, status_code=404)
            return Response(host.read_bytes(), media_type="application/octet-stream")
        if request.headers.get("content-type", "").startswith("multipart/"):
            form = await request.form()
            upload: Any = form["file"]
            data = await upload.read()
            await form.close()
        else:
            data = await request.body()
        host.parent.mkdir(parents=True, exist_ok=True)
        host.write_bytes(data)
        return JSONResponse([{"name": host.name, "type": "file", "path": path}])

    # envd Connect-RPC -----------------------------------------------------------------------
    def app(self) -> Starlette:
        fake = self

        class Process(ProcessService):  # the other methods answer UNIMPLEMENTED
            async def start(self, request: pr.StartRequest, ctx: Any) -> AsyncIterator[pr.StartResponse]:
                box = fake.box(ctx.request_headers.get("e2b-sandbox-id"))
                config = request.process
                env = {**box.envs, **dict(config.envs)}
                argv = sandbox_argv(box.root, HOME, config.cwd, env)
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    config.cmd,
                    *config.args,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    stdin=asyncio.subprocess.DEVNULL,
                    env={},
                    start_new_session=True,
                )
                yield pr.StartResponse(
                    event=pr.ProcessEvent(event=Oneof("start", pr.ProcessEvent.StartEvent(pid=proc.pid)))
                )
                try:
                    out, err = await proc.communicate()
                finally:
                    if proc.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            proc.kill()
                for name, chunk in (("stdout", out), ("stderr", err)):
                    if chunk:
                        data = pr.ProcessEvent.DataEvent(output=Oneof(name, chunk))
                        yield pr.StartResponse(event=pr.ProcessEvent(event=Oneof("data", data)))
                end = pr.ProcessEvent.EndEvent(
                    exit_code=proc.returncode, exited=True, status=f"exit status {proc.returncode}"
                )
                yield pr.StartResponse(event=pr.ProcessEvent(event=Oneof("end", end)))

        class Filesystem(FilesystemService):
            async def stat(self, request: fs.StatRequest, ctx: Any) -> fs.StatResponse:
                box = fake.box(ctx.request_headers.get("e2b-sandbox-id"))
                return fs.StatResponse(entry=fake.entry(box, request.path))

            async def list_dir(self, request: fs.ListDirRequest, ctx: Any) -> fs.ListDirResponse:
                box = fake.box(ctx.request_headers.get("e2b-sandbox-id"))
                host = fake.host(box, request.path)
                if not host.is_dir():
                    raise ConnectError(Code.NOT_FOUND, f"directory not found: {request.path}")
                names = sorted(child.name for child in host.iterdir())
                base = request.path.rstrip("/")
                return fs.ListDirResponse(entries=[fake.entry(box, f"{base}/{name}") for name in names])

            async def remove(self, request: fs.RemoveRequest, ctx: Any) -> fs.RemoveResponse:
                box = fake.box(ctx.request_headers.get("e2b-sandbox-id"))
                host = fake.host(box, request.path)
                if host.is_dir() and not host.is_symlink():
                    shutil.rmtree(host)
                elif host.exists() or host.is_symlink():
                    host.unlink()
                else:
                    raise ConnectError(Code.NOT_FOUND, f"no such file or directory: {request.path}")
                return fs.RemoveResponse()

            async def make_dir(self, request: fs.MakeDirRequest, ctx: Any) -> fs.MakeDirResponse:
                box = fake.box(ctx.request_headers.get("e2b-sandbox-id"))
                host = fake.host(box, request.path)
                if host.exists():
                    raise ConnectError(Code.ALREADY_EXISTS, f"already exists: {request.path}")
                host.mkdir(parents=True)
                return fs.MakeDirResponse(entry=fake.entry(box, request.path))

        return Starlette(
            routes=[
                Route("/v2/sandboxes", self.create, methods=["POST"]),
                Route("/sandboxes/{sid}", self.kill, methods=["DELETE"]),
                Route("/health", self.health, methods=["GET"]),
                Route("/files", self.files, methods=["GET", "POST"]),
                Mount("/process.Process", app=ProcessASGIApplication(Process())),  # type: ignore[arg-type]
                Mount("/filesystem.Filesystem", app=FilesystemASGIApplication(Filesystem())),  # type: ignore[arg-type]
            ]
        )

    # Serving ----------------------------------------------------------------------------------
    def __enter__(self) -> FakeE2B:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._tmp.cleanup()
