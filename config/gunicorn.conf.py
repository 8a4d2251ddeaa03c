"""gunicorn settings, from the environment (WEB_WORKERS, WEB_THREADS, PORT, BIND)."""

import multiprocessing
import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count()))
# Two threads per worker: one can wait on the database, Redis or an LMS while the other runs.
# More contend for the GIL: on 2 cores, 2 x 4 cost about 10 % more CPU per launch than 2 x 2, and a
# higher p95 (docs/performance.md). Raise it where many requests wait on slow LMSs.
threads = int(os.environ.get("WEB_THREADS", "2"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "0"))
max_requests_jitter = 100
# The app writes one JSON access line per request (LOG_REQUESTS), with its request id and without
# query strings; gunicorn's plain-text one only when asked for (ACCESS_LOG=- or a file).
accesslog = os.environ.get("ACCESS_LOG") or None
# Each worker loads the app itself (no preload): keys and connections are per process.
preload_app = False


def child_exit(server, worker):  # noqa: ARG001 - gunicorn hook signature
    """Tell prometheus_client a worker is gone, so its gauges stop counting (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
