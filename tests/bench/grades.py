"""Grade delivery: the outbox drained into a local AGS endpoint by real `flask grades worker`s.

    .venv/bin/python -m tests.bench.grades [--scores 10000] [--workers 2] [--rate 200 --seconds 10]

The tool's PostgreSQL schema gets 10 line items x 1,000 learners; the LMS is tests/bench/ags_server.py
(its own process, keep-alive, counts TCP connections and token requests). Two phases:

A. backlog: the workers are running and idle; `--scores` scores (one per line item and learner)
   are queued in one transaction. Prints scores/s, the workers' CPU per score, connections and
   token requests, and the time from submission (ScoreMessage.created_at) to acceptance by the
   LMS, which for a backlog is mostly waiting in the queue.
B. steady flow: scores are submitted at `--rate` per second for `--seconds` while the workers
   deliver; prints p50/p95/p99 from submission to acceptance (the "healthy LMS" latency).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import requests
from sqlalchemy import func, insert, select

from tests.bench.common import (
    BIN,
    REPO,
    cpu_seconds,
    demo_lms,
    emit,
    flask,
    flush_redis,
    fresh_schema,
    percentile,
    prepare_tool,
    table,
    tool_env,
)

TARGETS = 10
LEARNERS = 1000


def seed(app: Any, lms: str) -> tuple[list[int], list[tuple[int, str]]]:
    from lti_tool.extensions import db
    from lti_tool.models import Context, Deployment, GradeTarget, Platform, ResourceLink, User

    with app.app_context():
        platform = db.session.scalars(select(Platform).where(Platform.issuer == lms + "/lms")).one()
        deployment = db.session.scalars(select(Deployment).where(Deployment.platform_id == platform.id)).one()
        context = Context(deployment_id=deployment.id, context_id="bench-course", title="Bench")
        db.session.add(context)
        db.session.flush()
        targets = []
        for i in range(TARGETS):
            link = ResourceLink(context_id=context.id, resource_link_id=f"bench-link-{i}", title=f"Modul {i}",
                                custom={}, programme_id="efteruddannelse-integration")
            db.session.add(link)
            db.session.flush()
            target = GradeTarget(resource_link_id=link.id, platform_id=platform.id, label=f"Modul {i}",
                                 lineitem_url=f"{lms}/api/lineitems/{i}", score_maximum=100.0,
                                 scopes=["https://purl.imsglobal.org/spec/lti-ags/scope/score"])
            db.session.add(target)
            db.session.flush()
            targets.append(target.id)
        users = [User(platform_id=platform.id, sub=f"bench-u-{i:04d}") for i in range(LEARNERS)]
        db.session.add_all(users)
        db.session.commit()
        result = targets, [(u.id, u.sub) for u in users]
        db.session.remove()
        return result


def queue(app: Any, pairs: list[tuple[int, int, str]]) -> float:
    """Queue one score per (target, user id, sub) in one transaction; returns the commit time."""
    from lti_tool.extensions import db
    from lti_tool.models import ScoreMessage, utcnow

    with app.app_context():
        now = utcnow()
        db.session.execute(insert(ScoreMessage), [
            {"grade_target_id": t, "user_id": u, "sub": s, "score_given": 80.0, "score_maximum": 100.0,
             "activity_progress": "Completed", "grading_progress": "FullyGraded",
             "comment": "8 af 10 aktiviteter gennemført · 80 af 100 point", "timestamp": now,
             "state": "queued", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for t, u, s in pairs])
        db.session.commit()
        db.session.remove()
    return time.time()


def outbox_counts(app: Any) -> dict[str, int]:
    from lti_tool.extensions import db
    from lti_tool.models import ScoreMessage

    with app.app_context():
        counts = dict(db.session.execute(select(ScoreMessage.state, func.count()).group_by(ScoreMessage.state)).all())
        db.session.remove()
    return {str(k): int(v) for k, v in counts.items()}


def created_at(app: Any, lineitem_of: dict[int, str]) -> dict[tuple[str, str], float]:
    """(lineitem path, sub) -> submission time of its newest delivered score."""
    from lti_tool.extensions import db
    from lti_tool.models import ScoreMessage

    with app.app_context():
        rows = db.session.execute(select(ScoreMessage.grade_target_id, ScoreMessage.sub, ScoreMessage.created_at)
                                  .where(ScoreMessage.state == "delivered").order_by(ScoreMessage.id)).all()
        db.session.remove()
    return {(lineitem_of[t], s): c.timestamp() for t, s, c in rows}


def wait_for(lms: str, expected: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(lms + "/count", timeout=5).json()["accepted"] >= expected:
            return True
        time.sleep(0.05)
    return False


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        w.terminate()
    for w in workers:
        try:
            w.wait(timeout=15)
        except subprocess.TimeoutExpired:
            w.kill()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scores", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0, help="scores submitted per second in phase B")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of phase B")
    args = parser.parse_args(argv)
    if args.scores > TARGETS * LEARNERS:
        parser.error(f"at most {TARGETS * LEARNERS} scores (one per line item and learner)")

    flush_redis()
    server = subprocess.Popen([sys.executable, "-m", "tests.bench.ags_server"], cwd=REPO, stdout=subprocess.PIPE,
                              text=True)
    assert server.stdout is not None
    lms = f"http://127.0.0.1:{json.loads(server.stdout.readline())['port']}"
    workers: list[subprocess.Popen[bytes]] = []
    try:
        tool_url = "http://127.0.0.1:5998"  # no web process: the workers only send
        with fresh_schema("bench_grades") as schema, demo_lms(tool_url) as lms_url:
            env = tool_env(schema, tool_url, lms_url)
            prepare_tool(env)
            flask(env, "platforms", "add", "--issuer", lms + "/lms", "--client-id", "bench-ags",
                  "--auth-login-url", lms + "/auth", "--auth-token-url", lms + "/token",
                  "--key-set-url", lms + "/jwks", "--deployment-id", "bench-1", "--name", "Bench LMS")
            os.environ.update(env)
            from lti_tool import create_app

            app = create_app()
            targets, users = seed(app, lms)
            lineitem_of = {t: f"/api/lineitems/{i}" for i, t in enumerate(targets)}
            pairs = [(t, uid, sub) for uid, sub in users for t in targets]

            workers = [subprocess.Popen([str(BIN / "flask"), "grades", "worker", "--batch", str(args.batch)],
                                        env=env, cwd=REPO, stdout=subprocess.DEVNULL)
                       for _ in range(args.workers)]
            time.sleep(4.0)  # imported, app created, first empty rounds done
            pids = [w.pid for w in workers]

            # --- A: backlog -----------------------------------------------------------------
            requests.post(lms + "/reset", timeout=5)
            cpu0 = cpu_seconds(pids)
            t_queued = queue(app, pairs[: args.scores])
            drained = wait_for(lms, args.scores, timeout=240)
            cpu_a = cpu_seconds(pids) - cpu0
            report = requests.get(lms + "/report", timeout=30).json()
            accepted = report["accepted"]
            times = sorted(a[0] for a in accepted)
            submitted = created_at(app, lineitem_of)
            lat_a = [a[0] - submitted[(a[1], a[2])] for a in accepted if (a[1], a[2]) in submitted]
            phase_a = {
                "scores": args.scores, "delivered": len(accepted), "drained": drained,
                "scores_per_s": len(accepted) / (times[-1] - t_queued) if times else 0.0,
                "scores_per_s_first_to_last": (len(accepted) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0,
                "drain_s": times[-1] - t_queued if times else float("nan"),
                "worker_cpu_ms_per_score": 1000 * cpu_a / max(1, len(accepted)),
                "connections": report["connections"], "token_requests": report["token_requests"],
                "p50_s": percentile(lat_a, 50), "p95_s": percentile(lat_a, 95), "p99_s": percentile(lat_a, 99),
                "outbox": outbox_counts(app),
            }

            # --- B: steady flow ---------------------------------------------------------------
            requests.post(lms + "/reset", timeout=5)
            from lti_tool.extensions import db
            from lti_tool.models import ScoreMessage

            with app.app_context():  # phase A's rows stay; only phase B's are looked up below
                first_b = int(db.session.scalar(select(func.max(ScoreMessage.id))) or 0)
                db.session.remove()
            total_b = int(args.rate * args.seconds)
            flow = pairs[:total_b]
            tick = 0.05
            per_tick = max(1, round(args.rate * tick))
            cpu0 = cpu_seconds(pids)
            start = time.monotonic()
            sent = 0
            while sent < total_b:
                queue(app, flow[sent: sent + per_tick])
                sent += per_tick
                pause = start + (sent / args.rate) - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            produced_in = time.monotonic() - start
            drained_b = wait_for(lms, min(sent, total_b), timeout=60)
            cpu_b = cpu_seconds(pids) - cpu0
            report_b = requests.get(lms + "/report", timeout=30).json()
            with app.app_context():
                rows = db.session.execute(
                    select(ScoreMessage.grade_target_id, ScoreMessage.sub, ScoreMessage.created_at)
                    .where(ScoreMessage.id > first_b)).all()
                db.session.remove()
            submitted_b = {(lineitem_of[t], s): c.timestamp() for t, s, c in rows}
            lat_b = [a[0] - submitted_b[(a[1], a[2])] for a in report_b["accepted"] if (a[1], a[2]) in submitted_b]
            phase_b = {
                "rate": args.rate, "submitted": min(sent, total_b), "delivered": len(report_b["accepted"]),
                "drained": drained_b, "submit_s": produced_in,
                "worker_cpu_ms_per_score": 1000 * cpu_b / max(1, len(report_b["accepted"])),
                "p50_s": percentile(lat_b, 50), "p95_s": percentile(lat_b, 95), "p99_s": percentile(lat_b, 99),
                "max_s": max(lat_b) if lat_b else float("nan"), "connections": report_b["connections"],
            }
            _stop(workers)  # before their schema is dropped, or they fail on its missing tables
            with app.app_context():
                db.engine.dispose()
    finally:
        _stop(workers)
        server.terminate()
        server.wait()

    a, b = phase_a, phase_b
    print(f"\nGrades: {args.workers} x `flask grades worker --batch {args.batch}`, PostgreSQL + Redis, "
          f"local AGS endpoint (keep-alive)")
    print(table(["phase", "scores", "scores/s", "worker CPU ms/score", "p50 s", "p95 s", "p99 s",
                 "LMS connections", "token requests"],
                [[f"A: backlog of {a['scores']}", a["delivered"], a["scores_per_s"], a["worker_cpu_ms_per_score"],
                  a["p50_s"], a["p95_s"], a["p99_s"], a["connections"], a["token_requests"]],
                 [f"B: {b['rate']:.0f}/s for {args.seconds:.0f} s", b["delivered"], float("nan"),
                  b["worker_cpu_ms_per_score"], b["p50_s"], b["p95_s"], b["p99_s"], f"{b['connections']} new", "-"]]))
    print(f"\nA: drained in {a['drain_s']:.1f} s from the enqueue commit ({a['scores_per_s_first_to_last']:.0f}/s "
          f"first to last acceptance); outbox after: {a['outbox']}. A's latency is queueing behind the backlog.")
    print(f"B: {b['submitted']} submitted in {b['submit_s']:.1f} s, {b['delivered']} delivered, "
          f"slowest {b['max_s']:.2f} s.")
    figures = {"backlog": a, "flow": b, "workers": args.workers, "batch": args.batch}
    emit("grades", figures)
    return figures


if __name__ == "__main__":
    main()
