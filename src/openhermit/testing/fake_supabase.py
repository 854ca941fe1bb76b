"""A local stand-in for Supabase Storage's REST API (`/storage/v1/object/...`), for tests.

It speaks the real wire format for what the `supabase` blob store uses: upload
(`POST|PUT /object/{bucket}/{path}`, raw body, `x-upsert`), download (`GET /object/{bucket}/{path}`),
delete (`DELETE /object/{bucket}` with `{"prefixes": [...]}`), the service key as `apikey` and
bearer token, and Storage's error bodies (`{"statusCode", "error", "message"}`, HTTP 400).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

PREFIX = "/storage/v1/object/"


@dataclass
class StoredObject:
    data: bytes
    content_type: str


@dataclass
class FakeSupabaseStorage:
    """`with FakeSupabaseStorage(key="k", buckets={"attachments"}) as fake: fake.url ...`"""

    key: str = "service-role-key"
    buckets: set[str] = field(default_factory=lambda: {"attachments"})
    objects: dict[tuple[str, str], StoredObject] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSupabaseStorage:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _error(self, code: str, error: str, message: str) -> None:
                self._answer(400, {"statusCode": code, "error": error, "message": message})

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _route(self) -> tuple[str, str] | None:
                """(bucket, object path) of the request, after checking the key."""
                fake.requests.append((self.command, self.path))
                path = urlsplit(self.path).path
                if (
                    self.headers.get("apikey") != fake.key
                    or self.headers.get("Authorization") != f"Bearer {fake.key}"
                ):
                    self._error("403", "Unauthorized", "invalid signature")
                    return None
                if not path.startswith(PREFIX):
                    self._answer(404, {"message": "no Route matched with those values"})
                    return None
                bucket, _, name = path[len(PREFIX) :].partition("/")
                bucket, name = unquote(bucket), unquote(name)
                if bucket not in fake.buckets:
                    self._error("404", "Bucket not found", "Bucket not found")
                    return None
                return bucket, name

            def _upload(self) -> None:
                route = self._route()
                if route is None:
                    return
                data = self._body()
                if not route[1]:
                    self._error("400", "InvalidKey", "Invalid key")
                    return
                if route in fake.objects and self.headers.get("x-upsert") != "true":
                    self._error("409", "Duplicate", "The resource already exists")
                    return
                content_type = self.headers.get("Content-Type") or "text/plain;charset=UTF-8"
                fake.objects[route] = StoredObject(data, content_type)
                self._answer(200, {"Key": f"{route[0]}/{route[1]}", "Id": str(uuid.uuid4())})

            do_POST = _upload
            do_PUT = _upload

            def do_GET(self) -> None:
                route = self._route()
                if route is None:
                    return
                found = fake.objects.get(route)
                if found is None:
                    self._error("404", "not_found", "Object not found")
                    return
                self._answer(200, found.data, found.content_type)

            def do_DELETE(self) -> None:
                route = self._route()
                if route is None:
                    return
                try:
                    prefixes = json.loads(self._body() or b"{}")["prefixes"]
                except (ValueError, KeyError):
                    self._error("400", "invalid_request", "body must have prefixes")
                    return
                removed = []
                for name in prefixes:
                    if fake.objects.pop((route[0], name), None) is not None:
                        removed.append({"name": name, "bucket_id": route[0], "id": str(uuid.uuid4())})
                self._answer(200, removed)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSupabaseStorage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
