"""`make demo`: the tool and the demo LMS on two sites of this machine, in one process.

The tool answers on http://127.0.0.1:PORT and the LMS on http://localhost:LMS_PORT: another
origin and another site, as a municipality's Moodle and the consortium's tool are. Both are
development servers; stop them together with Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import threading

from werkzeug.serving import make_server

from lti_tool import create_app
from lti_tool.demo_lms.app import create_lms_app


def main() -> None:
    """Serve both apps until interrupted; the last line printed is the address to open."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--lms-port", type=int, default=5001)
    args = parser.parse_args()
    tool = create_app()
    lms = create_lms_app()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the tool writes its own access lines
    servers = [make_server(args.host, args.port, tool, threaded=True),
               make_server(args.host, args.lms_port, lms, threaded=True)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    tool_url, lms_url = tool.config["TOOL_BASE_URL"], lms.config["LMS_BASE_URL"]
    print(f"  Operator console: {tool_url}/admin/ (operator@demo.example / demo-operator-password)")
    print(f"  Integrationsløft runs at {tool_url}, the demo LMS at {lms_url} (another site).")
    print(f"  Open the demo LMS: {lms_url}/demo-lms/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        for server in servers:
            server.shutdown()


if __name__ == "__main__":
    main()
