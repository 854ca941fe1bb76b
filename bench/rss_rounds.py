"""Gateway memory under repeated load: does RSS settle, or keep growing (a leak)?

Starts the benchmark stack (instant fake model, PostgreSQL, one gateway process), creates the
load agents, then runs the throughput load several times and prints the gateway's RSS after
each round.

With --new-sessions every round talks in sessions of its own, as a fleet's users start new
conversations all day: what a gateway keeps per session (the contexts kept between turns,
bounded by OPENHERMIT_CONTEXT_CACHE_MB) shows up as growth until its bound, then flat.

Run: .venv/bin/python bench/rss_rounds.py [--agents 100] [--rounds 4] [--seconds 15] [--sessions 16]
     [--new-sessions]
"""

from __future__ import annotations

import argparse
import asyncio

import scenarios
from stack import rss_mb, running_stack


async def run(agents: int, rounds: int, seconds: float, sessions: int, new_sessions: bool) -> None:
    async with running_stack() as stack:
        print(f"idle                 {rss_mb(stack.gateway_pid):7.1f} MB", flush=True)
        ids = await scenarios._agents(stack, agents, "load")
        print(f"after {agents} agents {rss_mb(stack.gateway_pid):9.1f} MB", flush=True)
        result = await scenarios.rss_rounds(stack, ids, rounds, seconds, sessions, new_sessions=new_sessions)
        for index, (turns, rss) in enumerate(zip(result["turns"], result["rss_after_each_mb"], strict=True)):
            print(f"after round {index + 1} ({turns} turns) {rss:7.1f} MB", flush=True)
        print(f"growth over the second half of the rounds: {result['growth_second_half_mb']} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--new-sessions", action="store_true", help="new sessions every round")
    args = parser.parse_args()
    asyncio.run(run(args.agents, args.rounds, args.seconds, args.sessions, args.new_sessions))


if __name__ == "__main__":
    main()
