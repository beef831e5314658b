"""`scripts/bench` is the one command for every benchmark in bench/ (issue 6)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_scripts_bench_runs_every_benchmark() -> None:
    found = re.search(r"^for name in (.+); do$", (ROOT / "scripts" / "bench").read_text(), re.M)
    assert found, "scripts/bench no longer lists its benchmarks in one for loop"
    listed = found.group(1).split()
    present = sorted(path.stem for path in (ROOT / "bench").glob("*.py") if path.stem[0] != "_")
    assert sorted(listed) == present
