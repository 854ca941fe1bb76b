"""The benchmark scenarios. Each takes a running `Stack` and returns its figures as a dict."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psutil
from model_process import ModelProcess
from stack import Stack, percentile, rss_mb

from openhermit.store.engine import open_database
from openhermit.store.repos import memories
from openhermit.testing.fake_model import Reply


def _lat(values: list[float], prefix: str = "") -> dict[str, float]:
    return {
        f"{prefix}p50_ms": round(statistics.median(values), 2) if values else float("nan"),
        f"{prefix}p95_ms": round(percentile(values, 0.95), 2),
        f"{prefix}p99_ms": round(percentile(values, 0.99), 2),
    }


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process so far: the live ones, and through the postmaster's
    children times those that exited (a backend or an autovacuum worker ending in the middle
    of a measurement would otherwise take its CPU with it)."""
    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith("postgres"):
            try:
                times = proc.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
            except psutil.Error:
                pass
    return total


# 1 ------------------------------------------------------------------------------------------
async def sequential(stack: Stack, turns: int = 200, warmup: int = 10) -> dict[str, Any]:
    """Sequential `?wait=true` turns in one session."""
    await stack.configure_agent("seq")
    url = await stack.open_session("seq", "seq")
    latencies: list[float] = []
    async with stack.client() as http:
        for i in range(warmup + turns):
            started = time.perf_counter()
            async with http.post(url, params={"wait": "true"}, json={"text": f"turn {i}"}) as response:
                await response.read()
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            if i >= warmup:
                latencies.append(elapsed)
    return {"turns": turns, **_lat(latencies), "mean_ms": round(statistics.fmean(latencies), 2)}


# 2 ------------------------------------------------------------------------------------------
async def _agents(stack: Stack, count: int, prefix: str) -> list[str]:
    ids = [f"{prefix}-{i:05d}" for i in range(count)]
    sem = asyncio.Semaphore(8)

    async def one(agent_id: str) -> None:
        async with sem:
            await stack.configure_agent(agent_id)

    await asyncio.gather(*(one(a) for a in ids))
    return ids


async def throughput(
    stack: Stack, concurrency: int, agents: list[str], seconds: float = 20.0, *, prefix: str = "load"
) -> dict[str, Any]:
    """`concurrency` clients, each with its own session (`prefix`-named) on one of `agents`, for
    `seconds`."""
    urls = [
        await stack.open_session(agents[w % len(agents)], f"{prefix}-{concurrency}-{w}")
        for w in range(concurrency)
    ]
    latencies: list[float] = []
    errors = 0
    error_kinds: dict[str, int] = {}
    deadline = time.perf_counter() + seconds

    async def worker(url: str, http: aiohttp.ClientSession) -> None:
        nonlocal errors
        i = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                async with http.post(url, params={"wait": "true"}, json={"text": f"load {i}"}) as r:
                    body = await r.read()
                if r.status != 200 or orjson.loads(body).get("text") != "ok":
                    errors += 1
                    kind = f"{r.status} {body[:160].decode(errors='replace')}"
                    error_kinds[kind] = error_kinds.get(kind, 0) + 1
                else:
                    latencies.append((time.perf_counter() - started) * 1000)
            except Exception as exc:
                errors += 1
                kind = f"{type(exc).__name__}: {exc}"[:200]
                error_kinds[kind] = error_kinds.get(kind, 0) + 1
            i += 1

    async with contextlib.AsyncExitStack() as clients:
        # A client per worker, as each user has its own: one shared client's connection pool
        # costs CPU in proportion to its connections (at 64 it took more than the gateway).
        https = [await clients.enter_async_context(stack.client()) for _ in urls]
        # The harness's own share of the machine: the load client (this process) and the model.
        harness = (os.getpid(), stack.model.pid)
        cpu0, pg0, wall0 = _cpu_seconds(stack.gateway_pid), _postgres_cpu_seconds(), time.perf_counter()
        client0, model0 = (_cpu_seconds(pid) for pid in harness)
        await asyncio.gather(*(worker(u, h) for u, h in zip(urls, https, strict=True)))
        wall = time.perf_counter() - wall0
        cpu, pg = _cpu_seconds(stack.gateway_pid) - cpu0, _postgres_cpu_seconds() - pg0
        client, model = (_cpu_seconds(p) - start for p, start in zip(harness, (client0, model0), strict=True))
    done = len(latencies)
    return {
        "concurrency": concurrency,
        "seconds": round(wall, 1),
        "turns": done,
        "turns_per_s": round(done / wall, 1),
        "errors": errors,
        **({"error_kinds": error_kinds} if error_kinds else {}),
        **_lat(latencies),
        "gateway_cpu_ms_per_turn": round(cpu * 1000 / max(done, 1), 2),
        "postgres_cpu_ms_per_turn": round(pg * 1000 / max(done, 1), 2),
        "client_cpu_ms_per_turn": round(client * 1000 / max(done, 1), 2),
        "model_cpu_ms_per_turn": round(model * 1000 / max(done, 1), 2),
    }


# 3 ------------------------------------------------------------------------------------------
async def rss_rounds(
    stack: Stack, agents: list[str], rounds: int, seconds: float, sessions: int, *, new_sessions: bool = True
) -> dict[str, Any]:
    """The throughput load `rounds` times, the gateway's RSS after each: a leak shows as growth
    that does not stop. With `new_sessions` every round talks in sessions of its own, as a
    fleet's users start conversations all day, so what the gateway keeps per session grows until
    its bound (the contexts kept between turns, `OPENHERMIT_CONTEXT_CACHE_MB`) and then stays."""
    after: list[float] = []
    turns: list[int] = []
    for index in range(rounds):
        prefix = f"round-{index}" if new_sessions else "rounds"
        result = await throughput(stack, sessions, agents, seconds, prefix=prefix)
        turns.append(result["turns"])
        after.append(rss_mb(stack.gateway_pid))
    half = rounds // 2
    return {
        "rounds": rounds,
        "seconds": seconds,
        "sessions": sessions,
        "new_sessions": new_sessions,
        "turns": turns,
        "rss_after_each_mb": after,
        # Growth over the second half of the rounds: about zero when memory has settled.
        "growth_second_half_mb": round(after[-1] - after[half - 1], 1) if half else 0.0,
    }


async def fleet(stack: Stack, agents: int = 1000) -> dict[str, Any]:
    """Create `agents` agents one after another through the API; RSS before and after."""
    idle = rss_mb(stack.gateway_pid)
    per_agent: list[float] = []
    cpu0, pg0, client0 = _cpu_seconds(stack.gateway_pid), _postgres_cpu_seconds(), _cpu_seconds(os.getpid())
    async with stack.client() as http:
        for i in range(agents):
            started = time.perf_counter()
            async with http.post("/api/agents", json={"agentId": f"fleet-{i:05d}"}) as r:
                await r.read()
            per_agent.append((time.perf_counter() - started) * 1000)
            r.raise_for_status()
    cpu, pg = _cpu_seconds(stack.gateway_pid) - cpu0, _postgres_cpu_seconds() - pg0
    client = _cpu_seconds(os.getpid()) - client0
    return {
        "agents": agents,
        "create_total_s": round(sum(per_agent) / 1000, 2),
        **_lat(per_agent, "create_"),
        "gateway_cpu_ms_per_agent": round(cpu * 1000 / agents, 2),
        "postgres_cpu_ms_per_agent": round(pg * 1000 / agents, 2),
        "client_cpu_ms_per_agent": round(client * 1000 / agents, 2),
        "rss_idle_mb": idle,
        "rss_after_agents_mb": rss_mb(stack.gateway_pid),
    }


# 4 ------------------------------------------------------------------------------------------
async def first_token(stack: Stack, turns: int = 100) -> dict[str, Any]:
    """From the fake model handing out its first token to the SSE client reading it (the model
    pauses after that token, so the rest of the answer cannot hide the first). Introspection is
    off for this agent: its own model calls would interleave with the measured ones."""
    await stack.configure_agent("stream", model=stack.streaming_model, introspection=False)
    url = await stack.open_session("stream", "stream")
    overheads: list[float] = []
    warm_up = 5  # the first call to a model endpoint also opens its client and connection
    for i in range(turns + warm_up):
        sent_before = len(stack.streaming_model.first_token_sent())
        received: float | None = None
        async with stack.http.stream(
            "POST", url, params={"stream": "true"}, json={"text": f"stream {i}"}
        ) as response:
            async for line in response.aiter_lines():
                if received is None and line.startswith("event: text_delta"):
                    received = time.monotonic()
        # The turn's answer is the last reply that started before the client saw a token: a
        # context compaction (every few dozen turns here) streams its summary first.
        sent = [t for t in stack.streaming_model.first_token_sent()[sent_before:] if t <= (received or 0)]
        if sent and received is not None and i >= warm_up:
            overheads.append((received - sent[-1]) * 1000)
    return {"turns": turns, "measured": len(overheads), **_lat(overheads)}


async def token_cost(stack: Stack, tokens: int = 300, turns: int = 30) -> dict[str, Any]:
    """The gateway's CPU for each token the model streams: sequential turns answered with
    `tokens` deltas (each written on its own, as a model streaming in real time writes them)
    against turns answered with one, each in a fresh session (no context growth, no
    compaction), read by a `wait` request (nobody reads the tokens) or by an SSE stream (every
    token becomes an SSE frame)."""
    long_model = await asyncio.to_thread(
        ModelProcess(Reply(text="word " * tokens, chunk=5, pieces=True)).start
    )
    cpu_ms: dict[str, float] = {}
    try:
        for answer, model in (("one", stack.model), ("long", long_model)):
            agent = f"tokens-{answer}"
            await stack.configure_agent(agent, model=model, introspection=False)
            for mode in ("wait", "stream"):
                urls = [await stack.open_session(agent, f"{mode}-{i}") for i in range(turns + 1)]
                await _answer(stack, urls[0], mode)  # the first call to a model opens its client
                started = _cpu_seconds(stack.gateway_pid)
                for url in urls[1:]:
                    await _answer(stack, url, mode)
                cpu_ms[f"{mode}_{answer}"] = (_cpu_seconds(stack.gateway_pid) - started) * 1000 / turns
    finally:
        await asyncio.to_thread(long_model.stop)
    per_token = {
        f"{mode}_us_per_token": round(
            (cpu_ms[f"{mode}_long"] - cpu_ms[f"{mode}_one"]) * 1000 / (tokens - 1), 1
        )
        for mode in ("wait", "stream")
    }
    return {
        "tokens": tokens,
        "turns": turns,
        **{f"{k}_ms": round(v, 2) for k, v in cpu_ms.items()},
        **per_token,
    }


async def _answer(stack: Stack, url: str, mode: str) -> None:
    if mode == "wait":
        (await stack.http.post(url, params={"wait": "true"}, json={"text": "hi"})).raise_for_status()
        return
    async with stack.http.stream("POST", url, params={"stream": "true"}, json={"text": "hi"}) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("event: agent_end"):
                return


async def replay(stack: Stack, events: int = 10_000) -> dict[str, Any]:
    """Seed `events` stored events, then read them back through `Last-Event-ID`."""
    await stack.configure_agent("replay")
    await stack.open_session("replay", "replay")
    conn = await stack.connect_db()
    try:
        first = await conn.fetchval(
            "INSERT INTO session_events (agent_id, session_id, event_type, payload, content)"
            " SELECT 'replay', 'replay', 'user', jsonb_build_object('text', 'event ' || g),"
            " 'event ' || g FROM generate_series(1, $1) g RETURNING id",
            events,
        )
    finally:
        await conn.close()
    url = "/api/agents/replay/sessions/replay/events"
    seen = 0
    started = time.perf_counter()
    async with stack.http.stream("GET", url, headers={"Last-Event-ID": str(int(first) - 1)}) as response:
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                seen += 1
                if seen >= events:
                    break
    elapsed = time.perf_counter() - started
    return {"events": seen, "seconds": round(elapsed, 3), "events_per_s": round(seen / elapsed)}


# 5 ------------------------------------------------------------------------------------------
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "invoice",
    "meeting",
    "budget",
    "travel",
    "python",
    "postgres",
    "deploy",
    "customer",
    "renewal",
    "contract",
    "holiday",
    "birthday",
    "report",
    "launch",
]


async def recall(stack: Stack, memories_count: int, agents: int = 1, queries: int = 200) -> dict[str, Any]:
    """`memory_recall` (the tool's query) for one agent, with `memories_count` memories spread
    evenly over `agents` agents (the queried one and `agents - 1` seeded ones)."""
    agent = f"recall-{memories_count}-{agents}"
    per_agent = memories_count // agents
    await stack.configure_agent(agent)
    conn = await stack.connect_db()
    seed = (
        "INSERT INTO memories (agent_id, memory_key, content)"
        " SELECT {owner}, 'm' || g, (SELECT string_agg(w, ' ') FROM (SELECT w FROM unnest($1::text[]) w"
        " ORDER BY random() + g * 0 LIMIT 8) s) FROM {source}"
    )
    try:
        await conn.execute(
            seed.format(owner="$2", source="generate_series(1, $3) g"), WORDS, agent, per_agent
        )
        if agents > 1:
            others = f"recall-peer-{memories_count}-"
            await conn.execute(
                "INSERT INTO agents (agent_id, name, workspace_dir)"
                " SELECT $1 || a, 'peer ' || a, '/tmp/' || $1 || a FROM generate_series(1, $2::int) a",
                others,
                agents - 1,
            )
            await conn.execute(
                seed.format(
                    owner="$2 || a",
                    source="generate_series(1, $3::int) a, generate_series(1, $4::int) g",
                ),
                WORDS,
                others,
                agents - 1,
                per_agent,
            )
        # What autovacuum does soon after a bulk load: statistics, visibility map, and the GIN
        # index's pending list merged (otherwise every query scans the pending entries).
        await conn.execute("VACUUM ANALYZE memories")
    finally:
        await conn.close()
    db = open_database(stack.database_url, pool_size=1, application_name="bench")
    rng = random.Random(7)
    latencies: list[float] = []
    try:
        for i in range(queries + 10):
            query = " ".join(rng.sample(WORDS, 2)) if i % 4 else f"nomatch{i} zzz"
            started = time.perf_counter()
            async with db.transaction() as tx:
                await memories.recall(tx, agent, query)
            if i >= 10:
                latencies.append((time.perf_counter() - started) * 1000)
    finally:
        await db.dispose()
    return {"memories": memories_count, "agents": agents, "queries": queries, **_lat(latencies)}


# 6 ------------------------------------------------------------------------------------------
async def fanout(stack: Stack, agents: int) -> dict[str, Any]:
    """`POST /api/admin/instructions/fanout` (append) once the fleet holds `agents` agents."""
    conn = await stack.connect_db()
    try:
        have = int(await conn.fetchval("SELECT count(*) FROM agents"))
        if have < agents:
            await conn.execute(
                "INSERT INTO agents (agent_id, name, workspace_dir)"
                " SELECT 'seeded-' || g, 'seeded ' || g, '/tmp/seeded-' || g"
                " FROM generate_series($1::int, $2::int) g",
                have,
                agents - 1,
            )
    finally:
        await conn.close()
    runs: list[float] = []
    for i in range(3):
        started = time.perf_counter()
        r = await stack.http.post(
            "/api/admin/instructions/fanout",
            json={"mode": "append", "key": "rules", "content": f"Bench rule {agents}-{i}."},
        )
        runs.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
        changed = r.json()["agents"]
    return {
        "agents": len(changed),
        "first_ms": round(runs[0], 1),
        "median_ms": round(statistics.median(runs), 1),
    }


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.write_text(json.dumps(results, indent=2))
