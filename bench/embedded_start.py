"""Embedded PostgreSQL start-up: first start (initdb) and restarts, in a fresh directory.

Run: .venv/bin/python bench/embedded_start.py [--restarts N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from openhermit.store.embedded import EmbeddedPostgres


def measure(restarts: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        pgdata = Path(tmp) / "pgdata"
        started = time.perf_counter()
        server = EmbeddedPostgres(pgdata)
        server.start()
        first = time.perf_counter() - started
        server.stop()
        times = []
        for _ in range(restarts):
            started = time.perf_counter()
            server = EmbeddedPostgres(pgdata)
            server.start()
            times.append(time.perf_counter() - started)
            server.stop()
    return {
        "first_start_s": round(first, 3),
        "restart_median_s": round(statistics.median(times), 3),
        "restart_max_s": round(max(times), 3),
        "restarts": restarts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.restarts)
    for name, value in result.items():
        print(f"{name:20} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
