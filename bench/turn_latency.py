"""Sequential `wait` turns against an instant fake model: latency percentiles.

Starts the fake model server and a real gateway process on 127.0.0.1 (embedded PostgreSQL
in a temporary home, or --database-url), drives it through the public HTTP API only.

Run: .venv/bin/python bench/turn_latency.py [--turns 200] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import GatewayProcess

TOKEN = "bench-admin"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def run(turns: int, warmup: int, database_url: str | None) -> dict[str, object]:
    model = FakeModelServer().start()
    model.default = Reply(text="ok", input_tokens=50, output_tokens=5)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GATEWAY_ADMIN_TOKEN": TOKEN, "FAKE_API_KEY": "sk-bench", "OPENHERMIT_LOG_LEVEL": "warning"}
        if database_url:
            env["DATABASE_URL"] = database_url
        gateway = GatewayProcess(Path(tmp) / "home", **env).start()
        try:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            with httpx.Client(base_url=gateway.url, headers=headers, timeout=60) as http:
                agent = f"bench-{int(time.time())}"
                http.post("/api/agents", json={"agentId": agent}).raise_for_status()
                config = http.get(f"/api/agents/{agent}/config").json()
                config["model"] = {
                    "provider": "fake",
                    "model": "fake-model",
                    "base_url": model.openai_base_url,
                    "api": "openai-completions",
                    "max_retries": 0,
                }
                http.put(f"/api/agents/{agent}/config", json=config).raise_for_status()
                spec = {"sessionId": "bench", "source": {"kind": "api", "interactive": False}}
                http.post(f"/api/agents/{agent}/sessions", json=spec).raise_for_status()
                url = f"/api/agents/{agent}/sessions/bench/messages"
                latencies: list[float] = []
                for i in range(warmup + turns):
                    started = time.perf_counter()
                    response = http.post(url, params={"wait": "true"}, json={"text": f"turn {i}"})
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    if response.json().get("text") != "ok":
                        raise RuntimeError(f"unexpected answer: {response.text}")
                    if i >= warmup:
                        latencies.append(elapsed)
        finally:
            gateway.stop()
            model.stop()
    return {
        "scenario": "sequential_wait_turns",
        "turns": turns,
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "database": "DATABASE_URL" if database_url else "embedded",
        "machine": f"{platform.machine()} {platform.system()} python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--database-url")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.turns, args.warmup, args.database_url)
    for key, value in result.items():
        print(f"{key:10} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
