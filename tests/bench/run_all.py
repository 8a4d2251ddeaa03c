"""`make bench`: the three benchmarks, each in its own process, then their figures against the targets.

    .venv/bin/python -m tests.bench.run_all [--quick]

Needs PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL; see tests/bench/common.py).
Takes about three minutes on a 2-core machine (`--quick`: about one). See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.bench.common import REPO, table


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (f"{os.cpu_count()} x {cpu}, {mem_kb / 1024 / 1024:.1f} GB RAM, Python {platform.python_version()}, "
            f"load average {' '.join(load)} before the run")


def run(module: str, args: list[str]) -> dict[str, Any]:
    """Run one benchmark module, streaming its output; returns its BENCH-RESULT figures."""
    print(f"\n=== {module} {' '.join(args)}", flush=True)
    process = subprocess.Popen([sys.executable, "-m", f"tests.bench.{module}", *args], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    figures: dict[str, Any] = {}
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("BENCH-RESULT "):
            figures = json.loads(line.split(" ", 2)[2])
        elif " INFO " not in line:  # the tool's own info log lines are noise here
            print(line, end="", flush=True)
    if process.wait() != 0:
        raise SystemExit(f"{module} failed (exit {process.returncode})")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, for trying the scripts out")
    args = parser.parse_args()
    started = time.monotonic()
    print(f"Machine: {machine()}")
    quick = args.quick
    launches = run("launches", ["--seconds", "4" if quick else "10"])
    floor = run("launches", ["--floor", "--seconds", "3" if quick else "6"])
    grades = run("grades", ["--scores", "3000" if quick else "10000", "--seconds", "4" if quick else "10"])
    dashboard = run("dashboard", ["--repeat", "5" if quick else "15"])

    by_level = {r["concurrency"]: r for r in launches["levels"]}
    c8 = by_level.get(8, launches["levels"][0])
    board = dashboard[max(dashboard, key=int)]
    sizes = sorted(dashboard, key=int)
    constant = len({dashboard[n]["queries"] for n in sizes}) == 1
    rss = max(launches["peak_rss_mb_per_worker"])
    steady_fetches = sum(r["jwks_fetches"] for r in launches["levels"])
    rows = [
        ["tool CPU per full launch (median of levels)", "<= 3 ms",
         f"{launches['median_tool_cpu_ms_per_launch']:.1f} ms", launches["median_tool_cpu_ms_per_launch"] <= 3],
        ["platform-JWKS fetches in steady state", "0",
         f"{steady_fetches} (first launches: {launches['prime_jwks_fetches']})", steady_fetches == 0],
        ["p95 full launch at concurrency 8", "< 50 ms", f"{c8['p95_ms']:.0f} ms", c8["p95_ms"] < 50],
        ["grade delivery, backlog", "> 500 scores/s", f"{grades['backlog']['scores_per_s']:.0f} scores/s",
         grades["backlog"]["scores_per_s"] > 500],
        ["LMS connections for the backlog (reuse)", "few", str(grades["backlog"]["connections"]),
         grades["backlog"]["connections"] <= 2 * grades["workers"]],
        ["p95 submission -> LMS, steady flow", "< 2 s", f"{grades['flow']['p95_s']:.2f} s",
         grades["flow"]["p95_s"] < 2],
        [f"dashboard, {max(sizes, key=int)} learners (p50)", "< 300 ms", f"{board['p50_ms']:.0f} ms",
         board["p50_ms"] < 300],
        ["dashboard SQL queries at " + "/".join(sizes) + " learners", "constant",
         "/".join(str(dashboard[n]["queries"]) for n in sizes), constant],
        ["peak RSS per gunicorn worker", "< 150 MB", f"{rss:.0f} MB", rss < 150],
    ]
    print("\n=== Summary")
    print(table(["figure", "target", "measured", "met"], [[a, b, c, "yes" if d else "NO"] for a, b, c, d in rows]))
    floor_cpu = floor["median_tool_cpu_ms_per_launch"]
    floor_c8 = {r["concurrency"]: r for r in floor["levels"]}[8]
    print(f"\nThe stack's floor (tests/bench/floor_app.py: the same launches under the same gunicorn, with "
          f"only what no tool can skip): {floor_cpu:.1f} ms of CPU per launch, p95 {floor_c8['p95_ms']:.0f} ms "
          f"at concurrency 8. The tool spends {launches['median_tool_cpu_ms_per_launch'] - floor_cpu:.1f} ms "
          f"above it.")
    print(f"\n`make bench` took {time.monotonic() - started:.0f} s.")


if __name__ == "__main__":
    main()
