"""The instructor dashboard for a large course: render time and number of SQL queries.

    .venv/bin/python -m tests.bench.dashboard [--learners 1000] [--repeat 15]

On a fresh PostgreSQL schema (and Redis), a course of N learners is seeded directly: users, a
ModuleProgress row for each learner and each of the programme's 6 modules (mixed states, some
reflections waiting), and an instructor's launch record whose NRPS roster (N learners plus the
instructor) is already in the store's roster cache, as after the first page view. The course belongs
to the demo LMS, served on its own site (tests/bench/lms_server.py); with the roster cached, the page
does not ask it. The page is the real one: GET /c/<launch id>/instructor/ through the app's test
client, which runs the view (launch lookup, dashboard.build, filtering, paging) and the Jinja
template, which shows the first page of 50 rows and the counts of the whole course.
Every SQL statement is counted with a `before_cursor_execute` listener. Courses of 10 and 100
learners are measured too, to show that the number of queries does not grow with the class.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import event, insert, select

from tests.bench.common import (
    demo_lms,
    emit,
    flush_redis,
    fresh_schema,
    percentile,
    prepare_tool,
    table,
    tool_env,
)

PROGRAMME = "efteruddannelse-integration"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
STATES = ["not_started", "in_progress", "in_progress", "pending", "completed", "completed"]


def seed_course(app: Any, size: int, rng: random.Random, lms_url: str) -> str:
    """A course of `size` learners of the demo LMS at `lms_url`, with progress in every module;
    returns the instructor's launch id."""
    from lti_tool.demo_lms import platform as demo
    from lti_tool.extensions import db
    from lti_tool.models import (
        Context,
        Deployment,
        LaunchRecord,
        ModuleProgress,
        Platform,
        ResourceLink,
        RosterSnapshot,
        Submission,
        User,
        utcnow,
    )
    from lti_tool.runtime import runtime

    with app.app_context():
        platform = db.session.scalars(select(Platform).where(Platform.client_id == demo.CLIENT_ID)).one()
        deployment = db.session.scalars(select(Deployment).where(Deployment.platform_id == platform.id)).one()
        tag = secrets.token_hex(4)
        context = Context(deployment_id=deployment.id, context_id=f"bench-{size}-{tag}", label="BENCH",
                          title=f"Benchmark-kursus med {size} deltagere")
        db.session.add(context)
        db.session.flush()
        link = ResourceLink(context_id=context.id, resource_link_id=f"bench-link-{tag}", title="Hele forløbet",
                            custom={"programme": PROGRAMME}, programme_id=PROGRAMME)
        teacher = User(platform_id=platform.id, sub=f"bench-teacher-{tag}", name="Hanne Underviser",
                       email="hanne@bench.example", locale="da")
        db.session.add_all([link, teacher])
        db.session.flush()
        now = utcnow()
        subs = [f"bench-{tag}-l{i:04d}" for i in range(size)]
        db.session.execute(insert(User), [
            {"platform_id": platform.id, "sub": sub, "name": f"Deltager {i:04d} {rng.choice('ABCDEFGH')}",
             "email": f"{sub}@bench.example", "locale": "da", "created_at": now, "last_seen_at": now}
            for i, sub in enumerate(subs)])
        user_ids = dict(db.session.execute(select(User.sub, User.id).where(User.sub.in_(subs))).all())
        catalog = runtime().catalog()
        modules = catalog.programmes[PROGRAMME].modules
        progress, submissions = [], []
        for sub in subs:
            for module in modules:
                state = rng.choice(STATES)
                if state == "not_started":
                    continue
                max_points = module.max_points or 10.0
                progress.append({
                    "user_id": user_ids[sub], "programme_id": PROGRAMME, "module_id": module.id, "status": state,
                    "points": round(rng.random() * max_points, 2), "max_points": max_points,
                    "done_count": rng.randrange(1, 8), "required_count": 8, "pending_manual": state == "pending",
                    "started_at": now - timedelta(days=rng.randrange(1, 60)),
                    "completed_at": now if state == "completed" else None,
                    "updated_at": now - timedelta(minutes=rng.randrange(1, 60 * 24 * 30))})
                if state == "pending":
                    submissions.append({
                        "user_id": user_ids[sub], "programme_id": PROGRAMME, "module_id": module.id,
                        "activity_id": "refleksion", "attempt": 1, "answer": {"text": "…"}, "status": "pending",
                        "result": {}, "created_at": now})
        db.session.execute(insert(ModuleProgress), progress)
        if submissions:
            db.session.execute(insert(Submission), submissions)
        memberships_url = demo.DemoUrls(lms_url).memberships_url(f"bench-{tag}")
        record = LaunchRecord(
            id=secrets.token_urlsafe(32), deployment_id=deployment.id, user_id=teacher.id, context_id=context.id,
            resource_link_id=link.id, message_type="LtiResourceLinkRequest", roles=[INSTRUCTOR], locale="da",
            claims={"nrps": {"context_memberships_url": memberships_url, "service_versions": ["2.0"]},
                    "presentation": {"locale": "da-DK", "document_target": "iframe"}},
            created_at=now, expires_at=now + timedelta(hours=8))
        db.session.add(record)
        db.session.commit()
        roster = [{"user_id": sub, "status": "Active", "name": f"Deltager {i:04d}",
                   "given_name": "Deltager", "family_name": f"{i:04d}", "email": f"{sub}@bench.example",
                   "roles": [LEARNER]} for i, sub in enumerate(subs)]
        roster.append({"user_id": teacher.sub, "status": "Active", "name": "Hanne Underviser",
                       "email": "hanne@bench.example", "roles": [INSTRUCTOR]})
        # The roster as the grade worker stores it after reading NRPS (see lti_tool.teaching.roster).
        db.session.add(RosterSnapshot(context_id=context.id, platform_id=platform.id,
                                      memberships_url=memberships_url, members=roster,
                                      refreshed_at=utcnow(), failures=0))
        db.session.commit()
        launch_id = record.id
        db.session.remove()
        return launch_id


def measure(app: Any, launch_id: str, size: int, repeat: int, statements: list[str],
            cprofile: str | None = None) -> dict[str, Any]:
    import blueprints.instructor as view
    from lti_tool.teaching import dashboard as dash
    from lti_tool.teaching.dashboard import PAGE_SIZE

    timings: dict[str, list[float]] = {"build": [], "render": []}
    original_build, original_render = dash.build, view.render_template

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timings[name].append(time.perf_counter() - started)
        return wrapper

    client = app.test_client()
    url = f"/c/{launch_id}/instructor/"
    dash.build, view.render_template = timed("build", original_build), timed("render", original_render)
    try:
        first = client.get(url)
        assert first.status_code == 200, first.text[:2000]
        # One page of the table (50 rows; dates by flask-babel's `datetimeformat`), the counts of all.
        table_rows = first.text.split('<table class="roster">', 1)[1].count('<tr><th scope="row">')
        assert table_rows == min(size, PAGE_SIZE), f"{table_rows} rows in the table"
        walls, cpus, queries = [], [], []
        for key in timings:
            timings[key].clear()
        profiler = None
        if cprofile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        for _ in range(repeat):
            statements.clear()
            w0, c0 = time.perf_counter(), time.process_time()
            response = client.get(url)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            queries.append(len(statements))
            assert response.status_code == 200
        if profiler is not None and cprofile:
            profiler.disable()
            profiler.dump_stats(cprofile)
    finally:
        dash.build, view.render_template = original_build, original_render
    return {
        "p50_ms": 1000 * percentile(walls, 50), "p95_ms": 1000 * percentile(walls, 95),
        "cpu_p50_ms": 1000 * percentile(cpus, 50),
        "build_p50_ms": 1000 * percentile(timings["build"], 50),
        "render_p50_ms": 1000 * percentile(timings["render"], 50),
        "queries": max(queries), "queries_min": min(queries),
        "statements": list(statements), "bytes": len(response.data),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--show-sql", action="store_true")
    parser.add_argument("--cprofile", help="write cProfile statistics (CPU) of the largest size's renders here")
    args = parser.parse_args(argv)
    rng = random.Random(7)
    flush_redis()
    sizes = sorted({10, 100, args.learners})
    results: dict[int, dict[str, Any]] = {}
    tool_url = "http://127.0.0.1:5997"  # the test client's requests never leave this process
    with fresh_schema("bench_dash") as schema, demo_lms(tool_url) as lms_url:
        # In process: the access line would go to this script's own output.
        env = tool_env(schema, tool_url, lms_url, LOG_REQUESTS="0")
        prepare_tool(env)
        os.environ.update(env)
        from lti_tool import create_app
        from lti_tool.extensions import db
        from lti_tool.teaching.dashboard import PAGE_SIZE
        from lti_tool.web import ready_to_serve

        app = create_app()
        ready_to_serve(app)  # as wsgi.py does in every production web process
        statements: list[str] = []
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute",
                         lambda conn, cursor, statement, *rest: statements.append(statement))
        launches = {size: seed_course(app, size, rng, lms_url) for size in sizes}
        for size in sizes:
            results[size] = measure(app, launches[size], size, args.repeat if size == args.learners else 5, statements,
                                    args.cprofile if size == args.learners else None)
        with app.app_context():
            db.engine.dispose()

    print(f"\nInstructor dashboard (GET /c/<launch>/instructor/, whole programme: 6 modules), PostgreSQL + Redis, "
          f"roster from its database snapshot, first page of {PAGE_SIZE} rows; "
          f"{args.repeat} renders at {args.learners} learners")
    print(table(["learners", "p50 ms", "p95 ms", "CPU p50 ms", "dashboard.build p50 ms", "template p50 ms",
                 "SQL queries", "page KB"],
                [[n, r["p50_ms"], r["p95_ms"], r["cpu_p50_ms"], r["build_p50_ms"], r["render_p50_ms"],
                  r["queries"] if r["queries"] == r["queries_min"] else f"{r['queries_min']}-{r['queries']}",
                  r["bytes"] // 1024] for n, r in sorted(results.items())]))
    if args.show_sql:
        for sql in results[args.learners]["statements"]:
            print("  ", " ".join(sql.split())[:160])
    figures = {str(n): {k: v for k, v in r.items() if k != "statements"} for n, r in results.items()}
    emit("dashboard", figures)
    return figures


if __name__ == "__main__":
    main()
