"""The demo LMS for the benchmarks, in a process of its own on another site than the tool.

    .venv/bin/python -m tests.bench.lms_server --port P --tool URL --database URL --redis URL --instance DIR

As in the field and in `make demo`, the LMS is an app of its own (lti_tool/demo_lms/app.py) with
its own PostgreSQL schema, Redis prefix, keys and cookies; the benchmark's driver made the schema
and drops it after this process ends. This sets the LMS up (`lms setup`: tables, key, the tool
registered by hand, the demo courses), serves it with werkzeug's threaded server on 127.0.0.1
and prints {"url": "http://localhost:P"} once it listens: the tool is 127.0.0.1, the LMS
localhost, two sites. No benchmark drives load through it, so it stays idle in its own process
and its CPU is never counted as the tool's (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import signal
import sys
from types import FrameType

from werkzeug.serving import make_server

from config.settings import database_uri
from lti_tool.demo_lms.app import create_lms_app
from lti_tool.demo_lms.cli import setup_lms
from lti_tool.demo_lms.database import lms_db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tool", required=True, help="the tool's address, as the LMS's administrator enters it")
    parser.add_argument("--database", required=True, help="PostgreSQL URL of the LMS's own schema")
    parser.add_argument("--redis", required=True)
    parser.add_argument("--instance", required=True, help="the LMS's instance folder (a temporary one)")
    args = parser.parse_args()
    url = f"http://localhost:{args.port}"
    app = create_lms_app({
        "INSTANCE_PATH": args.instance, "LMS_BASE_URL": url, "TOOL_BASE_URL": args.tool,
        "SECRET_KEY": secrets.token_urlsafe(40), "SQLALCHEMY_DATABASE_URI": database_uri(args.database),
        "REDIS_URL": args.redis, "REDIS_PREFIX": f"bench-lms-{secrets.token_hex(4)}:"})
    with app.app_context():
        setup_lms()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the bench's output
    server = make_server("127.0.0.1", args.port, app, threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    print(json.dumps({"url": url}), flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
        with app.app_context():
            lms_db.engine.dispose()  # before the driver drops the schema
        sys.stdout.flush()


if __name__ == "__main__":
    main()
