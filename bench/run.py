"""The benchmark harness: every scenario against one gateway, a table on stdout, JSON on disk.

    .venv/bin/python bench/run.py                      # everything (about 5 minutes)
    .venv/bin/python bench/run.py --only sequential    # one scenario
    .venv/bin/python bench/run.py --smoke              # tiny sizes: checks the harness works

Scenarios: fleet, sequential, throughput, streaming, recall, fanout (see bench/README.md).
A fake model answering instantly and the gateway run on 127.0.0.1; PostgreSQL is an embedded
server started for the run unless --database-url is given.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import scenarios
from stack import machine, rss_mb, running_stack

SCENARIOS = ("fleet", "sequential", "throughput", "streaming", "recall", "fanout")

FULL = {
    "fleet_agents": 1000,
    "turns": 200,
    "load_agents": 100,
    "concurrency": (16, 64),
    "load_seconds": 20.0,
    "rss_rounds": (6, 5.0, 64),  # (rounds, seconds each, sessions): new sessions every round
    "stream_turns": 100,
    "replay_events": 10_000,
    "token_cost": (300, 100),  # (tokens per answer, turns)
    "memories": ((100_000, 1), (1_000_000, 1_000), (1_000_000, 1)),  # (memories, agents)
    "fanout": (1000, 10_000),
}
SMOKE = {
    "fleet_agents": 5,
    "turns": 5,
    "load_agents": 3,
    "concurrency": (2,),
    "load_seconds": 1.0,
    "rss_rounds": (2, 0.5, 2),
    "stream_turns": 3,
    "replay_events": 50,
    "token_cost": (20, 2),
    "memories": ((200, 1), (400, 4)),
    "fanout": (20,),
}


async def run(only: set[str], sizes: dict[str, Any], database_url: str | None) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine()}
    async with running_stack(database_url) as stack:
        results["rss_idle_mb"] = rss_mb(stack.gateway_pid)
        fleet_ids: list[str] = []
        progress("gateway up")
        if "fleet" in only:
            results["fleet"] = await scenarios.fleet(stack, sizes["fleet_agents"])
            fleet_ids = [f"fleet-{i:05d}" for i in range(sizes["fleet_agents"])]
        if "sequential" in only:
            progress("sequential")
            results["sequential"] = await scenarios.sequential(stack, sizes["turns"])
        if "throughput" in only:
            progress("throughput")
            load_agents = fleet_ids[: sizes["load_agents"]]
            for agent in load_agents:
                await stack.configure_agent(agent, create=False)
            if not load_agents:
                load_agents = await scenarios._agents(stack, sizes["load_agents"], "load")
            results["throughput"] = [
                await scenarios.throughput(stack, c, load_agents, sizes["load_seconds"])
                for c in sizes["concurrency"]
            ]
            results["rss_after_load_mb"] = rss_mb(stack.gateway_pid)
            progress("rss rounds")
            results["rss_rounds"] = await scenarios.rss_rounds(stack, load_agents, *sizes["rss_rounds"])
        if "streaming" in only:
            progress("streaming")
            results["first_token"] = await scenarios.first_token(stack, sizes["stream_turns"])
            results["replay"] = await scenarios.replay(stack, sizes["replay_events"])
            results["token_cost"] = await scenarios.token_cost(stack, *sizes["token_cost"])
        if "recall" in only:
            progress("recall")
            results["recall"] = [await scenarios.recall(stack, n, a) for n, a in sizes["memories"]]
        if "fanout" in only:
            progress("fanout")
            results["fanout"] = [await scenarios.fanout(stack, n) for n in sizes["fanout"]]
        results["rss_end_mb"] = rss_mb(stack.gateway_pid)
        results["peak_postgres_connections"] = stack.peak_connections
    return results


def progress(what: str) -> None:
    print(f"... {what}", file=sys.stderr, flush=True)


def table(results: dict[str, Any]) -> str:
    lines = [f"machine: {results['machine']}"]
    for key, value in results.items():
        if key == "machine":
            continue
        rows = value if isinstance(value, list) else [value]
        for row in rows:
            if isinstance(row, dict):
                lines.append(f"{key:12} " + "  ".join(f"{k}={v}" for k, v in row.items()))
            else:
                lines.append(f"{key:12} {row}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="run only these (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for checking the harness")
    parser.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    parser.add_argument(
        "--json", type=Path, default=Path("bench/results.json"), help="where to write figures"
    )
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else FULL
    results = asyncio.run(run(set(args.only or SCENARIOS), sizes, args.database_url))
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    scenarios.write_json(args.json, results)
    print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
