"""`exec` latency on the `local` (bubblewrap) sandbox: cold (a new sandbox: ensure + first
command) and warm (further commands on it), with the `host` backend as the no-isolation baseline.

Run: .venv/bin/python bench/sandbox_exec.py [--cold N] [--warm N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from openhermit.sandbox.registry import SandboxSpec, build, unavailable_reason


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "n": len(ordered),
    }


async def measure(type_name: str, cold: int, warm: int, root: Path) -> dict[str, object]:
    cold_times: list[float] = []
    for i in range(cold):
        spec = SandboxSpec(
            id=f"b{i}",
            agent_id=f"bench-{i}",
            alias="default",
            config={},
            workspace_dir=root / f"{type_name}-{i}",
        )
        started = time.perf_counter()
        box = build(type_name, spec)
        await box.ensure()
        result = await box.exec("true")
        cold_times.append(time.perf_counter() - started)
        assert result.exit_code == 0, result
        await box.shutdown()
    spec = SandboxSpec(
        id="w", agent_id="bench-warm", alias="default", config={}, workspace_dir=root / f"{type_name}-warm"
    )
    box = build(type_name, spec)
    await box.exec("true")
    figures: dict[str, object] = {"cold_true": _ms(cold_times)}
    for label, command in (("warm_true", "true"), ("warm_python", "python3 -c 'print(6*7)'")):
        times = []
        for _ in range(warm):
            started = time.perf_counter()
            result = await box.exec(command)
            times.append(time.perf_counter() - started)
            assert result.exit_code == 0, result
        figures[label] = _ms(times)
    return figures


async def main(cold: int, warm: int) -> dict[str, object]:
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for type_name in ("local", "host"):
            reason = unavailable_reason(type_name)
            if reason:
                results[type_name] = {"skipped": reason}
                continue
            results[type_name] = await measure(type_name, cold, warm, Path(tmp))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=20)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = asyncio.run(main(args.cold, args.warm))
    print(f"{'backend':8} {'measure':12} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'n':>5}")
    for backend, rows in figures.items():
        for label, row in rows.items():  # type: ignore[attr-defined]
            if isinstance(row, dict):
                cells = f"{row['p50_ms']:8} {row['p95_ms']:8} {row['max_ms']:8} {row['n']:5}"
                print(f"{backend:8} {label:12} {cells}")
            else:
                print(f"{backend:8} skipped: {row}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
