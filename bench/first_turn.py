"""The first turn after a gateway restart: how long a user waits for the process to warm up.

Starts the benchmark stack, creates two agents on the instant fake model, then restarts the
gateway several times. After each restart it sends, after `--pause` seconds, a `wait` turn to
the first agent (the first turn of the process), then one more to it, then the first turn of
the second agent (its runner starts, the process is warm). While the first turn runs, another
client asks `/health` over and over: the longest of those requests is how long the gateway
stopped answering everyone else.

Run: .venv/bin/python bench/first_turn.py [--restarts 3] [--pause 0 1.5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from stack import Stack, running_stack


async def _turn_ms(stack: Stack, url: str) -> float:
    started = time.perf_counter()
    (await stack.http.post(url, params={"wait": "true"}, json={"text": "hello"})).raise_for_status()
    return (time.perf_counter() - started) * 1000


async def _longest_health_ms(stack: Stack, done: asyncio.Event) -> float:
    longest = 0.0
    while not done.is_set():
        started = time.perf_counter()
        (await stack.http.get("/health")).raise_for_status()
        longest = max(longest, (time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.005)
    return longest


async def _first_turn_ms(stack: Stack, url: str) -> tuple[float, float]:
    """The first turn's time, and the longest `/health` request meanwhile."""
    done = asyncio.Event()
    prober = asyncio.create_task(_longest_health_ms(stack, done))
    try:
        turn = await _turn_ms(stack, url)
    finally:
        done.set()
    return turn, await prober


async def run(restarts: int, pauses: list[float]) -> None:
    async with running_stack() as stack:
        urls = []
        for agent in ("first", "second"):
            await stack.configure_agent(agent)
            urls.append(await stack.open_session(agent, "s"))
        for pause in pauses:
            rows: list[tuple[float, float, float, float]] = []
            for _ in range(restarts):
                await asyncio.to_thread(stack.gateway.stop)
                await asyncio.to_thread(stack.gateway.start)
                await asyncio.sleep(pause)
                first, stalled = await _first_turn_ms(stack, urls[0])
                rows.append((first, stalled, await _turn_ms(stack, urls[0]), await _turn_ms(stack, urls[1])))
            first, stalled, again, other = (statistics.median(column) for column in zip(*rows, strict=True))
            print(
                f"pause {pause:4.1f} s: first turn {first:6.1f} ms (longest /health meanwhile"
                f" {stalled:6.1f} ms), the next {again:5.1f} ms, another agent's first {other:5.1f} ms"
                f" (medians of {restarts} restarts)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--pause", type=float, nargs="+", default=[0.0, 1.5])
    args = parser.parse_args()
    asyncio.run(run(args.restarts, args.pause))


if __name__ == "__main__":
    main()
