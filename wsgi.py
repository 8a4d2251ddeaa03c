"""The production entry point: `gunicorn -c config/gunicorn.conf.py wsgi:app`.

Unlike `create_app`, this checks at start-up that the database, Redis and the schema are there,
so a misconfigured instance stops at once with a clear message instead of failing its first user.
"""

from lti_tool import create_app
from lti_tool.web import ready_to_serve
from lti_tool.web.health import require_ready

app = create_app()
require_ready(app)
ready_to_serve(app)
