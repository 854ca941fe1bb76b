"""The benchmark harness runs end to end at tiny sizes, so it cannot rot between releases."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_harness_smoke(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["sequential"]["turns"] == 5
    assert figures["throughput"][0]["errors"] == 0
    assert figures["throughput"][0]["turns"] > 0
    assert len(figures["rss_rounds"]["rss_after_each_mb"]) == 2
    assert figures["first_token"]["measured"] == 3
    assert figures["replay"]["events"] == 50
    assert figures["token_cost"]["turns"] == 2
    # CPU times come in kernel ticks (10 ms), more than two tiny turns take: only their
    # presence is checked here, never their size.
    assert {"wait_long_ms", "stream_long_ms", "wait_us_per_token"} <= figures["token_cost"].keys()
    assert all(math.isfinite(v) for v in figures["token_cost"].values())
    assert figures["recall"][0]["memories"] == 200
    assert figures["fanout"][0]["agents"] >= 20
    assert figures["peak_postgres_connections"] > 0
    assert "sequential" in done.stdout
