"""Where a launch's CPU goes, in one process: the app through Flask's test client on PostgreSQL and
Redis, the platform (tests/bench/launch_loadgen.Platform) signing in the same process.

    .venv/bin/python -m tests.bench.profile_launch [-n 300] [--users 200] [--pyinstrument out.html]

Prints CPU per step (login, launch POST with the first page, that page again by GET) and the SQL
statements and Redis commands each step issues. A tool for finding work to remove, not one of the `make bench` figures.

CPU time on a shared machine moves by tens of per cent between runs. Instructions do not: under
valgrind, `--callgrind FILE` counts the measured launches' instructions alone, the same to 0.1 % from
run to run (a few minutes for `--users 20 -n 40`):

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
        .venv/bin/python -m tests.bench.profile_launch --users 20 -n 40 --callgrind /tmp/cg.out
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event

from tests.bench.common import demo_lms, flask, flush_redis, fresh_schema, prepare_tool, table, tool_env
from tests.bench.launch_loadgen import Platform


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--users", type=int, default=200, help="learners, each launched once to warm up")
    parser.add_argument("--pyinstrument", help="write a profile of the measured launches here (.html or .txt)")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one launch")
    parser.add_argument("--cprofile", help="write cProfile statistics of the measured launches here (.prof)")
    parser.add_argument("--callgrind", help="under valgrind --tool=callgrind --callgrind-out-file=FILE: count the "
                        "measured launches' instructions only, and print them per launch")
    args = parser.parse_args(argv)

    flush_redis()
    base_url = "http://127.0.0.1:5999"
    with fresh_schema("bench_prof") as schema, demo_lms(base_url) as lms_url:
        # In process: the access line would go to this script's own output.
        env = tool_env(schema, base_url, lms_url, LIMIT_LTI="1000000 per minute", LOG_REQUESTS="0")
        prepare_tool(env)
        platform = Platform(base_url, users=args.users)
        reg = platform.registration()
        flask(env, "platforms", "add", "--issuer", reg["issuer"], "--client-id", reg["client_id"],
              "--auth-login-url", reg["auth_login_url"], "--auth-token-url", reg["auth_token_url"],
              "--key-set-url", reg["key_set_url"], "--deployment-id", reg["deployment_id"])
        os.environ.update(env)
        from lti_tool import create_app
        from lti_tool.extensions import db
        from lti_tool.web import ready_to_serve

        app = create_app()
        ready_to_serve(app)  # as wsgi.py does in every production web process
        client = app.test_client()
        statements: list[str] = []
        with app.app_context():
            @event.listens_for(db.engine, "before_cursor_execute")
            def _count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
                statements.append(statement)

        import redis.client

        redis_calls: list[str] = []
        original = redis.client.Redis.execute_command

        def counting(self: Any, *cmd: Any, **kw: Any) -> Any:
            redis_calls.append(str(cmd[0]))
            return original(self, *cmd, **kw)

        redis.client.Redis.execute_command = counting  # type: ignore[method-assign]

        def one(i: int, record: dict[str, list[Any]] | None) -> None:
            sub = f"bench-u-{i % args.users:04d}"
            params = {"iss": platform.issuer, "login_hint": sub, "target_link_uri": base_url + "/lti/launch",
                      "client_id": platform.client_id, "lti_deployment_id": platform.deployment_id}
            marks = []
            for step in ("login", "launch", "page"):
                statements.clear()
                redis_calls.clear()
                c0 = time.process_time()
                if step == "login":
                    response = client.get("/lti/login", query_string=params)
                    assert response.status_code == 302, response.text
                    query = parse_qs(urlsplit(response.headers["Location"]).query)
                    state, nonce = query["state"][0], query["nonce"][0]
                    c0b = time.process_time()
                    token = platform.sign(platform.claims(nonce, sub))
                    c0 += time.process_time() - c0b  # the platform's signing is not the tool's CPU
                elif step == "launch":
                    # a learner's launch answers with the first page itself
                    response = client.post("/lti/launch", data={"id_token": token, "state": state})
                    assert response.status_code == 200 and 'class="cards"' in response.text
                    location = response.headers["Content-Location"]
                else:
                    # a later page of the launch (what a reload or the next link costs)
                    response = client.get(location)
                    assert response.status_code == 200 and 'class="cards"' in response.text
                marks.append((step, time.process_time() - c0, list(statements), list(redis_calls)))
            client._cookies.clear()  # type: ignore[attr-defined]
            if record is not None:
                for step, cpu, sql, rcalls in marks:
                    record[step].append((cpu, sql, rcalls))

        for i in range(args.users):  # warm-up: every user launched once, JWKS fetched, caches filled
            one(i, None)
        record: dict[str, list[Any]] = collections.defaultdict(list)
        profiler = None
        if args.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002)
            profiler.start()
        if args.cprofile:
            import cProfile

            cprofiler = cProfile.Profile(time.process_time)  # CPU, not waiting
            cprofiler.enable()
        if args.callgrind:
            _callgrind("--zero")
        started = time.process_time()
        for i in range(args.n):
            one(i, record)
        total = time.process_time() - started
        if args.callgrind:
            _callgrind("--dump")
        if args.cprofile:
            cprofiler.disable()
            cprofiler.dump_stats(args.cprofile)
        if profiler is not None:
            profiler.stop()
            with open(args.pyinstrument, "w") as fh:
                as_text = args.pyinstrument.endswith(".txt")
                fh.write(profiler.output_text(unicode=False, color=False) if as_text else profiler.output_html())
        redis.client.Redis.execute_command = original  # type: ignore[method-assign]

        rows = []
        for step in ("login", "launch", "page"):
            samples = record[step]
            cpu = sorted(s[0] for s in samples)
            rows.append([step, 1000 * cpu[len(cpu) // 2], 1000 * sum(cpu) / len(cpu),
                         sum(len(s[1]) for s in samples) / len(samples),
                         sum(len(s[2]) for s in samples) / len(samples)])
        print(table(["step", "CPU p50 ms", "CPU mean ms", "SQL statements", "Redis commands"], rows))
        full = rows[0][2] + rows[1][2]
        print(f"\n{args.n} launches: {full:.2f} ms CPU per full launch (login + launch with its first page) "
              f"in this process, tool + test client, without the platform's signing; the page again by GET "
              f"{rows[2][2]:.2f} ms; {1000 * total / args.n:.2f} ms for all three steps")
        if args.callgrind:
            instructions = _callgrind_total(args.callgrind + ".1")
            print(f"{instructions / args.n / 1e6:.2f} M instructions per launch (all three steps)")
        if args.show_sql:
            for step in ("login", "launch", "page"):
                print(f"\n--- {step}: redis {record[step][-1][2]}")
                for sql in record[step][-1][1]:
                    print("  ", " ".join(sql.split())[:200])
        platform.server.shutdown()
        with app.app_context():
            db.engine.dispose()


def _callgrind(command: str) -> None:
    """Zero callgrind's counters, or dump them to FILE.1, for this process (callgrind_control)."""
    subprocess.run(["callgrind_control", command, str(os.getpid())], check=True, capture_output=True)


def _callgrind_total(dump: str) -> int:
    """The instructions a callgrind dump counted."""
    with open(dump) as fh:
        for line in fh:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise ValueError(f"no totals in {dump}")


if __name__ == "__main__":
    main()
