"""Durable transports: SSE replay rate, and added latency of delivery across gateway processes.

Starts PostgreSQL (embedded, unless --database-url), the fake model server and two gateway
processes on 127.0.0.1; drives them through the public HTTP API only.

  replay       store N events in a session (append), then time one SSE replay of all of them
  cross        a client follows the session on gateway A and on gateway B while turns run on
               A; per event, the extra time it took to reach the client through B

Run: .venv/bin/python bench/transports.py [--events 10000] [--turns 50] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from openhermit.store.embedded import EmbeddedPostgres
from openhermit.store.engine import ensure_database
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import GatewayProcess

TOKEN = "bench-admin"
H = {"Authorization": f"Bearer {TOKEN}"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def seed(http: httpx.AsyncClient, agent: str, events: int) -> None:
    url = f"/api/agents/{agent}/sessions/replay/messages"
    spec = {"sessionId": "replay", "source": {"kind": "api", "interactive": False}}
    (await http.post(f"/api/agents/{agent}/sessions", json=spec)).raise_for_status()
    semaphore = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with semaphore:
            (
                await http.post(url, params={"append": "true"}, json={"text": f"event {i} " + "x" * 80})
            ).raise_for_status()

    await asyncio.gather(*(one(i) for i in range(events)))


async def replay(http: httpx.AsyncClient, agent: str, events: int) -> dict[str, float]:
    started = time.perf_counter()
    count = 0
    async with http.stream(
        "GET", f"/api/agents/{agent}/sessions/replay/events", params={"after": "0"}
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: user_message"):
                count += 1
            elif line.startswith("event: ready"):
                break
    elapsed = time.perf_counter() - started
    if count < events:
        raise RuntimeError(f"replayed {count} of {events}")
    return {
        "replay_events": count,
        "replay_seconds": round(elapsed, 3),
        "replay_events_per_s": round(count / elapsed),
    }


async def follow(
    http: httpx.AsyncClient, path: str, arrivals: dict[str, float], ready: asyncio.Event
) -> None:
    async with http.stream("GET", path) as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                if event == "ready":
                    ready.set()
                    continue
                data = json.loads(line[5:])
                if event == "text_delta":
                    key = f"delta:{data.get('correlationId')}:{data['text']}"
                else:
                    key = f"{event}:{data.get('eventId')}"
                arrivals.setdefault(key, time.perf_counter())


async def cross(a: GatewayProcess, b: GatewayProcess, agent: str, turns: int) -> dict[str, float]:
    spec = {"sessionId": "cross", "source": {"kind": "api", "interactive": False}}
    async with (
        httpx.AsyncClient(base_url=a.url, headers=H, timeout=60) as http_a,
        httpx.AsyncClient(base_url=b.url, headers=H, timeout=None) as http_b,
    ):
        (await http_a.post(f"/api/agents/{agent}/sessions", json=spec)).raise_for_status()
        on_a: dict[str, float] = {}
        on_b: dict[str, float] = {}
        ready_a, ready_b = asyncio.Event(), asyncio.Event()
        path = f"/api/agents/{agent}/sessions/cross/events"
        watchers = [
            asyncio.create_task(follow(http_a, path, on_a, ready_a)),
            asyncio.create_task(follow(http_b, path, on_b, ready_b)),
        ]
        await asyncio.wait_for(asyncio.gather(ready_a.wait(), ready_b.wait()), 30)
        for i in range(turns):
            body = {"text": f"turn {i}", "messageId": f"c{i}"}
            (
                await http_a.post(
                    f"/api/agents/{agent}/sessions/cross/messages", params={"wait": "true"}, json=body
                )
            )
        await asyncio.sleep(1.0)
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
    added = [(on_b[k] - on_a[k]) * 1000 for k in on_a if k in on_b]
    missing = len([k for k in on_a if k not in on_b])
    return {
        "cross_events": len(added),
        "cross_missing": missing,
        "cross_added_p50_ms": round(statistics.median(added), 2),
        "cross_added_p99_ms": round(pct(added, 0.99), 2),
    }


async def run(events: int, turns: int, database_url: str | None) -> dict[str, Any]:
    model = FakeModelServer().start()
    model.default = Reply(text="a short answer streamed in pieces", chunk=6)
    with tempfile.TemporaryDirectory() as tmp:
        embedded = None
        if database_url is None:
            embedded = EmbeddedPostgres(Path(tmp) / "pgdata")
            database_url = embedded.start()
            await ensure_database(database_url)
        env = {
            "GATEWAY_ADMIN_TOKEN": TOKEN,
            "FAKE_API_KEY": "sk",
            "DATABASE_URL": database_url,
            "OPENHERMIT_LOG_LEVEL": "warning",
        }
        a = GatewayProcess(Path(tmp) / "a", **env).start()
        b = GatewayProcess(Path(tmp) / "b", **env).start()
        try:
            async with httpx.AsyncClient(base_url=a.url, headers=H, timeout=None) as http:
                agent = f"bench-{int(time.time())}"
                (await http.post("/api/agents", json={"agentId": agent})).raise_for_status()
                config = (await http.get(f"/api/agents/{agent}/config")).json()
                config["model"] = {
                    "provider": "fake",
                    "model": "fake",
                    "base_url": model.openai_base_url,
                    "api": "openai-completions",
                    "max_retries": 0,
                }
                (await http.put(f"/api/agents/{agent}/config", json=config)).raise_for_status()
                started = time.perf_counter()
                await seed(http, agent, events)
                seeded = time.perf_counter() - started
                result: dict[str, Any] = {"seed_appends_per_s": round(events / seeded)}
                result.update(await replay(http, agent, events))
            result.update(await cross(a, b, agent, turns))
        finally:
            a.stop()
            b.stop()
            model.stop()
            if embedded is not None:
                embedded.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--database-url")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.events, args.turns, args.database_url))
    for key, value in result.items():
        print(f"{key:22} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
