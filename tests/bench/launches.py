"""Full LTI launches against the tool under gunicorn on PostgreSQL and Redis.

    .venv/bin/python -m tests.bench.launches [--seconds 10] [--levels 1,8,32]

The tool runs as in production (gunicorn, config/gunicorn.conf.py, 2 workers x 2 threads) on a
fresh PostgreSQL schema; a separate load-generator process (tests/bench/launch_loadgen.py) is
the platform: registered with `flask platforms add`, it serves its own JWKS and signs every
id_token locally. Per concurrency level it prints launches/s, latency of the whole launch
(login + launch + first learner page), the gunicorn workers' CPU per launch (utime+stime from
/proc), the JWKS fetches the tool made, and the load generator's own CPU. The LTI rate limit is
raised for the run (one address sends everything); the limiter itself stays on.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from tests.bench.common import (
    REPO,
    cpu_seconds,
    demo_lms,
    emit,
    flask,
    flush_redis,
    free_port,
    fresh_schema,
    machine_busy,
    percentile,
    pids_named,
    prepare_tool,
    schema_url,
    start_gunicorn,
    table,
    tool_env,
)


class LoadGenerator:
    def __init__(self, tool_url: str, users: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.launch_loadgen", "--tool", tool_url, "--users", str(users)],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("load generator ended")
        result: dict[str, Any] = json.loads(line)
        return result

    def run(self, concurrency: int, seconds: float, cmd: str = "run") -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, "concurrency": concurrency, "seconds": seconds}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.process.stdin.flush()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def prepare_floor(env: dict[str, str], schema: str, registration: dict[str, str]) -> None:
    """The floor app's tables, and the platform it accepts (in its environment, not a database)."""
    with psycopg.connect(schema_url(schema), autocommit=True) as conn:
        conn.execute("CREATE TABLE floor_launch (id text PRIMARY KEY, sub text NOT NULL, context text, "
                     "link text, created timestamptz NOT NULL DEFAULT now())")
        conn.execute("CREATE TABLE floor_record (sub text NOT NULL, module text NOT NULL, state text NOT NULL)")
        conn.execute("CREATE INDEX floor_record_sub ON floor_record (sub)")
    env.update(FLOOR_ISSUER=registration["issuer"], FLOOR_CLIENT_ID=registration["client_id"],
               FLOOR_AUTH_LOGIN_URL=registration["auth_login_url"],
               FLOOR_KEY_SET_URL=registration["key_set_url"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--users", type=int, default=500, help="distinct learners the launches cycle through")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--floor", action="store_true",
                        help="drive tests/bench/floor_app.py instead of the tool: the stack's floor")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]

    flush_redis()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    results: list[dict[str, Any]] = []
    # The tool is set up as before with the demo LMS registered, now served on its own site in its
    # own (idle) process; the floor app knows no LMS but the load generator.
    lms = contextlib.nullcontext("") if args.floor else demo_lms(base_url)
    with fresh_schema("bench_launch") as schema, tempfile.TemporaryDirectory() as tmp, lms as lms_url:
        env = tool_env(schema, base_url, lms_url, LIMIT_LTI="1000000 per minute")
        if not args.floor:
            prepare_tool(env)
        loadgen = LoadGenerator(base_url, args.users)
        server = None
        try:
            reg = loadgen.info
            if args.floor:
                prepare_floor(env, schema, reg)
            else:
                flask(env, "platforms", "add", "--issuer", reg["issuer"], "--client-id", reg["client_id"],
                      "--auth-login-url", reg["auth_login_url"], "--auth-token-url", reg["auth_token_url"],
                      "--key-set-url", reg["key_set_url"], "--deployment-id", reg["deployment_id"],
                      "--name", "Bench Kommune")
            server = start_gunicorn(env, port, Path(tmp) / "gunicorn.log", workers=args.workers,
                                    threads=args.threads,
                                    app="tests.bench.floor_app:app" if args.floor else "wsgi:app")
            # Every learner launches once (users created; the JWKS is fetched here, once), then a
            # short warm-up: the levels below measure the steady state.
            prime = loadgen.run(8, 120, cmd="prime")
            warm = loadgen.run(4, args.warmup)
            if not warm["latencies"]:
                raise RuntimeError(f"no launch succeeded in warm-up: {warm['errors']}\n"
                                   + server.log_path.read_text()[-3000:])
            for level in levels:
                services = pids_named("postgres", "redis-server")
                cpu_before, busy_before = server.worker_cpu(), machine_busy()
                services_before = cpu_seconds(services)
                outcome = loadgen.run(level, args.seconds)
                cpu = server.worker_cpu() - cpu_before
                busy = machine_busy() - busy_before
                services_cpu = cpu_seconds(services) - services_before
                launches = len(outcome["latencies"])
                steps = outcome["steps"]
                results.append({
                    "concurrency": level,
                    "launches": launches,
                    "errors": sum(outcome["errors"].values()),
                    "error_kinds": outcome["errors"],
                    "launches_per_s": launches / outcome["wall"],
                    "p50_ms": 1000 * percentile(outcome["latencies"], 50),
                    "p95_ms": 1000 * percentile(outcome["latencies"], 95),
                    "p99_ms": 1000 * percentile(outcome["latencies"], 99),
                    "login_p50_ms": 1000 * percentile([s[0] for s in steps], 50),
                    "launch_p50_ms": 1000 * percentile([s[1] for s in steps], 50),
                    "page_p50_ms": 1000 * percentile([s[2] for s in steps], 50),
                    "tool_cpu_ms_per_launch": 1000 * cpu / launches if launches else float("nan"),
                    "jwks_fetches": outcome["jwks_fetches"],
                    "loadgen_cpu_ms_per_launch": 1000 * outcome["loadgen_cpu"] / launches if launches else float("nan"),
                    "loadgen_cpu_s": outcome["loadgen_cpu"],
                    "services_cpu_ms_per_launch": 1000 * services_cpu / launches if launches else float("nan"),
                    "machine_busy_pct": 100 * busy / (outcome["wall"] * os.cpu_count()),  # type: ignore[operator]
                    "foreign_cpu_pct": 100 * max(0.0, busy - cpu - outcome["loadgen_cpu"] - services_cpu)
                    / (outcome["wall"] * os.cpu_count()),  # type: ignore[operator]
                })
            rss = server.peak_rss_mb()
            log_tail = server.log_path.read_text(errors="replace")
        finally:
            if server is not None:
                server.stop()
            loadgen.close()

    cpu_values = sorted(r["tool_cpu_ms_per_launch"] for r in results)
    figures = {
        "levels": results,
        "prime_launches": len(prime["latencies"]),
        "prime_errors": prime["errors"],
        "prime_jwks_fetches": prime["jwks_fetches"],
        "warmup_jwks_fetches": warm["jwks_fetches"],
        "warmup_launches": len(warm["latencies"]),
        "peak_rss_mb_per_worker": rss,
        "median_tool_cpu_ms_per_launch": cpu_values[len(cpu_values) // 2],
    }
    what = "The floor (tests/bench/floor_app.py)" if args.floor else "Launches"
    print(f"\n{what}: gunicorn {args.workers} workers x {args.threads} threads, PostgreSQL + Redis, "
          f"{args.seconds:.0f} s per level, {args.users} learners")
    print(table(
        ["concurrency", "launches/s", "p50 ms", "p95 ms", "p99 ms", "tool CPU ms/launch", "JWKS fetches",
         "loadgen CPU ms/launch", "errors"],
        [[r["concurrency"], r["launches_per_s"], r["p50_ms"], r["p95_ms"], r["p99_ms"],
          r["tool_cpu_ms_per_launch"], r["jwks_fetches"], r["loadgen_cpu_ms_per_launch"], r["errors"]]
         for r in results]))
    print()
    print(table(["concurrency", "login p50 ms", "launch POST (with the first page) p50 ms",
                 "page after a redirect p50 ms",
                 "PostgreSQL+Redis CPU ms/launch", "machine busy %", "other processes %"],
                [[r["concurrency"], r["login_p50_ms"], r["launch_p50_ms"], r["page_p50_ms"],
                  r["services_cpu_ms_per_launch"], r["machine_busy_pct"], r["foreign_cpu_pct"]] for r in results]))
    print(f"\nfirst launches: {len(prime['latencies'])} learners, {prime['jwks_fetches']} JWKS fetch(es), "
          f"errors {prime['errors'] or 'none'}; "
          f"warm-up: {len(warm['latencies'])} launches, {warm['jwks_fetches']} JWKS fetch(es); "
          f"peak RSS per worker (VmHWM): {', '.join(f'{x:.1f} MB' for x in rss)}; "
          f"median tool CPU per launch: {figures['median_tool_cpu_ms_per_launch']:.2f} ms")
    for r in results:
        if r["errors"]:
            print(f"errors at concurrency {r['concurrency']}: {r['error_kinds']}")
    if any(r["errors"] for r in results) or prime["errors"]:
        # The tool's warning lines (one per refused request) say what went wrong; the first
        # launches of a course can race on creating it (see docs/performance.md, "Found on the way").
        problems = sorted({line.split("] ", 1)[-1] for line in log_tail.splitlines()
                           if " WARNING " in line or " ERROR " in line})
        print("\n".join(problems[:10]))
    emit("floor" if args.floor else "launches", figures)
    return figures


if __name__ == "__main__":
    main()
