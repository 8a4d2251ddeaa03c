"""Shared plumbing for the benchmarks: a fresh PostgreSQL schema, the tool's environment, the
`flask` CLI, gunicorn, the demo LMS on another site, /proc readings and small statistics helpers.

PostgreSQL and Redis come from BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test)
and BENCH_REDIS_URL (default redis://127.0.0.1:6379/13: a database of its own, flushed at the
start of each benchmark, because the tool's Redis key prefix is fixed).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import redis
import requests

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# A long random SECRET_KEY, as production demands; fixed per process so every child agrees.
SECRET_KEY = os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(40)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- database and store ----------------------------------------------------------------------

def create_schema(prefix: str = "bench") -> str:
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def drop_schema(schema: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"


def flush_redis() -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()


@contextmanager
def fresh_schema(prefix: str = "bench") -> Iterator[str]:
    schema = create_schema(prefix)
    try:
        yield schema
    finally:
        drop_schema(schema)


def tool_env(schema: str, base_url: str, lms_url: str = "", **extra: str) -> dict[str, str]:
    """The environment of every tool process of one benchmark (gunicorn, CLI, grade workers);
    `lms_url` is the demo LMS beside it (`demo_lms`), which `flask demo setup` registers."""
    env = dict(os.environ)
    env.pop("DEMO_LMS_URL", None)  # only the benchmark's own LMS, never one from the caller's shell
    env.update(
        INTEGRATIONSLOEFT_ENV="embedded",
        FLASK_APP="lti_tool:create_app",
        DATABASE_URL=schema_url(schema),
        REDIS_URL=REDIS_URL,
        SECRET_KEY=SECRET_KEY,
        TOOL_BASE_URL=base_url,
        # As in production: grades go through their own worker processes, not a web thread.
        GRADE_WORKER_THREAD="0",
        # As in production: one JSON access line per request, written to the benchmark's log file.
        LOG_REQUESTS="1",
        LOG_JSON="1",
        PYTHONUNBUFFERED="1",
    )
    if lms_url:
        env["DEMO_LMS_URL"] = lms_url
    env.update(extra)
    return env


def flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([str(BIN / "flask"), *args], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare_tool(env: dict[str, str]) -> None:
    """`flask db upgrade`, `flask keys ensure` and `flask demo setup` (the demo LMS at the
    environment's DEMO_LMS_URL registered as a platform) on the fresh schema."""
    flask(env, "db", "upgrade")
    flask(env, "keys", "ensure")
    flask(env, "demo", "setup")


@contextmanager
def demo_lms(tool_url: str) -> Iterator[str]:
    """The demo LMS set up and served on another site (http://localhost:<port>, the tool being on
    127.0.0.1) by tests/bench/lms_server.py, in a process of its own with its own PostgreSQL schema
    and Redis prefix; yields its address. Its own process: its CPU never counts as the tool's
    (gunicorn's workers) nor as the in-process benchmarks' (process_time)."""
    port = free_port()
    with fresh_schema("bench_lms") as schema, tempfile.TemporaryDirectory() as instance:
        log_path = Path(instance) / "lms.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.bench.lms_server", "--port", str(port), "--tool", tool_url,
                 "--database", schema_url(schema), "--redis", REDIS_URL, "--instance", instance],
                cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                process.wait(timeout=10)
                raise RuntimeError(f"the demo LMS did not start:\n{log_path.read_text()[-3000:]}")
            url = str(json.loads(line)["url"])
            # As the tool would reach it: by name, on its own site.
            requests.get(url + "/demo-lms/jwks", timeout=10).raise_for_status()
            yield url
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


# --- processes -------------------------------------------------------------------------------

def read_stat(pid: int) -> tuple[int, int]:
    """(utime + stime in clock ticks, ppid) of a process."""
    with open(f"/proc/{pid}/stat") as fh:
        raw = fh.read()
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[0] is state (field 3); ppid is field 4, utime 14, stime 15.
    return int(fields[11]) + int(fields[12]), int(fields[1])


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += read_stat(pid)[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / CLK_TCK


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    if found:
        return sorted(set(found))
    for proc in Path("/proc").iterdir():  # kernels without /proc/<pid>/task/<tid>/children
        if proc.name.isdigit():
            try:
                if read_stat(int(proc.name))[1] == pid:
                    found.append(int(proc.name))
            except OSError:
                continue
    return sorted(found)


def machine_busy() -> float:
    """Seconds of busy CPU on the whole machine (all cores) since boot, from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def pids_named(*names: str) -> list[int]:
    """Processes whose command name is one of `names` (e.g. the PostgreSQL and Redis servers)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() in names:
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @property
    def workers(self) -> list[int]:
        return children(self.process.pid)

    def worker_cpu(self) -> float:
        return cpu_seconds(self.workers)

    def peak_rss_mb(self) -> list[float]:
        return [status_kb(pid, "VmHWM") / 1024 for pid in self.workers]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gunicorn(env: dict[str, str], port: int, log_path: Path, *, workers: int = 2,
                   threads: int = 2, app: str = "wsgi:app") -> Gunicorn:
    env = dict(env, PORT=str(port), WEB_WORKERS=str(workers), WEB_THREADS=str(threads))
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", app],
                               env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    server = Gunicorn(process, base_url, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(base_url + "/healthz", timeout=1).ok and len(server.workers) >= workers:
                # Each worker loads the app itself: make sure every one has answered once.
                for _ in range(workers * 4):
                    requests.get(base_url + "/healthz", timeout=2)
                return server
        except requests.RequestException:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("gunicorn did not come up in 60 s")


# --- numbers ---------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (printed as is, and pasted into docs/performance.md)."""
    text = [[str(c) for c in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in text]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def emit(name: str, figures: dict[str, Any]) -> None:
    """Machine-readable figures on one line, for run_all's summary."""
    print(f"BENCH-RESULT {name} {json.dumps(figures)}", flush=True)
