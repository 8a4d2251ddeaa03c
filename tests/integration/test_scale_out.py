"""No state in process memory that another instance needs: two gunicorn instances, one database.

OIDC login on instance A, the launch on instance B, the learner's work spread over both, grade
workers as two more processes — and every score reaches the LMS exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
import requests
from sqlalchemy import select

from lti_tool.demo_lms.app import create_lms_app
from lti_tool.demo_lms.database import lms_db
from lti_tool.demo_lms.models import DemoScore
from tests.conftest import HAVE_SERVICES, create_schema, drop_schema, free_port, lms_settings, set_up_lms, start_lms
from tests.support.agent import Agent, autosubmit_form, text_of
from tests.support.learner import correct_answer, csrf_of
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(not HAVE_SERVICES, reason="needs TEST_DATABASE_URL and TEST_REDIS_URL")


def _run(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "flask"), *args], env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    schema = create_schema()
    port_a, port_b, lms_port = free_port(), free_port(), free_port()
    lms_url = f"http://localhost:{lms_port}"
    lms_app = create_lms_app(lms_settings("embedded", tmp_path_factory.mktemp("cluster-lms"), lms_url,
                                          f"http://127.0.0.1:{port_a}"))
    set_up_lms(lms_app)
    lms_server = start_lms(lms_app, lms_port)
    database = os.environ["TEST_DATABASE_URL"] + f"?options=-csearch_path%3D{schema}"
    env = {**os.environ, "FLASK_APP": "lti_tool:create_app", "DATABASE_URL": database,
           "REDIS_URL": os.environ["TEST_REDIS_URL"], "REDIS_PREFIX": f"il-cluster-{uuid.uuid4().hex[:6]}:",
           "SECRET_KEY": "cluster-secret-" + "x" * 32, "TOOL_BASE_URL": f"http://127.0.0.1:{port_a}",
           "DEMO_LMS_URL": lms_url, "GRADE_WORKER_THREAD": "0", "LOG_LEVEL": "WARNING"}
    _run(env, "db", "upgrade")
    _run(env, "keys", "ensure")
    _run(env, "demo", "setup")
    processes = []
    for port in (port_a, port_b):
        instance_env = {**env, "BIND": f"127.0.0.1:{port}", "WEB_WORKERS": "1", "WEB_THREADS": "4",
                        "ACCESS_LOG": ""}
        processes.append(subprocess.Popen([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"],
                                          env=instance_env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE))
    try:
        def ready(port: int) -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).ok
            except requests.RequestException:
                return False

        for port, process in zip((port_a, port_b), processes, strict=True):
            # A safety net of two minutes: gunicorn and the app start in a few seconds when idle.
            try:
                wait_for(lambda port=port: ready(port), what=f"the instance on {port} to be ready",
                         limit=120, every=0.2)
            except AssertionError:
                pytest.fail(f"instance on {port} did not start: {process.stderr.read1()[:2000]!r}")
        yield {"a": f"http://127.0.0.1:{port_a}", "b": f"http://127.0.0.1:{port_b}", "env": env,
               "database": database, "lms": lms_url, "lms_app": lms_app}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        lms_server.shutdown()
        lms_server.server_close()
        drop_schema(schema)


def on(base: str, url: str) -> str:
    """The same path on another instance (what a load balancer may do with any request)."""
    parsed = urlparse(url)
    return base + parsed.path + (f"?{parsed.query}" if parsed.query else "")


def test_two_instances_share_everything_through_postgres_and_redis(cluster):
    a, b = str(cluster["a"]), str(cluster["b"])
    learner = "stor-kursus-l0777"
    browser = Agent(a, str(cluster["lms"]))
    browser.sign_in(learner)

    login = browser.get("/demo-lms/courses/stor-kursus/initiate", params={"link_id": "rl-stor"}, allow_redirects=False)
    to_tool = browser.get(login.headers["Location"], allow_redirects=False)  # OIDC login on A
    assert to_tool.status_code == 302
    auth_page = browser.get(to_tool.headers["Location"])  # the platform's OIDC answer
    action, fields = autosubmit_form(auth_page.text)
    launched = browser.post(on(b, action), fields, initiator=auth_page.url)  # the launch lands on instance B
    assert launched.status_code == 200, text_of(launched.text)[:500]
    home = on(a, launched.url)
    assert "Nyankomne flygtninge" in text_of(browser.get(home).text)  # and is known on A

    from lti_tool.content.loader import load_catalog

    module = load_catalog(ROOT / "content").module("nyankomne")
    for index, activity in enumerate(module.activities):
        base = a if index % 2 == 0 else b
        url = on(base, f"{home}m/{module.id}/a/{activity.id}")
        page = browser.get(url)
        assert page.status_code == 200
        if activity.is_exercise:
            other = b if base == a else a  # the form from one instance is posted to the other
            response = browser.http.post(on(other, url), data={"csrf_token": csrf_of(page.text),
                                                              **correct_answer(activity)}, timeout=30)
            assert response.status_code == 200

    workers = [subprocess.Popen([str(BIN / "flask"), "grades", "worker", "--once", "--batch", "3"],
                                env=cluster["env"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for _ in range(2)]
    for worker in workers:
        worker.wait(timeout=60)
    for _ in range(10):  # anything left (a worker's batch was smaller than the queue)
        subprocess.run([str(BIN / "flask"), "grades", "worker", "--once"], env=cluster["env"], cwd=ROOT,
                       capture_output=True, timeout=60, check=True)

    conninfo = os.environ["TEST_DATABASE_URL"]
    schema = str(cluster["database"]).rsplit("%3D", 1)[1]
    with psycopg.connect(conninfo, options=f"-csearch_path={schema}") as conn:
        states = conn.execute("SELECT o.state, count(*) FROM score_outbox o JOIN users u ON u.id = o.user_id "
                              "WHERE u.sub = %s GROUP BY o.state", (learner,)).fetchall()
        delivered = dict(states).get("delivered", 0)
        assert set(dict(states)) <= {"delivered", "superseded"} and delivered >= 1
    with cluster["lms_app"].app_context():  # what reached the LMS, in its own database
        received = lms_db.session.scalars(select(DemoScore.received).where(DemoScore.user_id == learner)).all()
    assert received == [delivered]
