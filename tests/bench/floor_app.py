"""The floor under the launch benchmark: the least a tool can do for the same launch on the same stack.

`tests.bench.launches --floor` runs this module under the same gunicorn settings and drives it
with the same load generator as the tool. It answers the OIDC login and the launch POST with what
no LTI tool can skip: a state and nonce kept in Redis, the id_token's RS256 signature and claims
checked against the platform's key (fetched once), the state spent and the nonce claimed in one
Redis round trip, the launch written and the learner's records read back in one PostgreSQL
transaction, and a small page of six modules rendered by Jinja.

It leaves out everything the tool adds to that: rate limits, access lines, metrics, security
headers, locale and translations, the session, pylti1p3's claim checks, the ORM and the pool, the
course, user and link rows, progress rules and a real page. Its CPU per launch is the part of the
tool's figure that no code of ours can remove while the stack stays Flask under gunicorn on this
machine (docs/performance.md). It is a measuring stick, not an LTI tool: it checks nothing else.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlencode

import jwt
import psycopg
import redis
from flask import Flask, abort, redirect, request
from jwt.algorithms import RSAAlgorithm

ISSUER = os.environ["FLOOR_ISSUER"]
CLIENT_ID = os.environ["FLOOR_CLIENT_ID"]
AUTH_LOGIN_URL = os.environ["FLOOR_AUTH_LOGIN_URL"]
KEY_SET_URL = os.environ["FLOOR_KEY_SET_URL"]
DATABASE_URL = os.environ["DATABASE_URL"]
MODULES = [(f"modul-{i}", f"Modul {i}") for i in range(1, 7)]

app = Flask(__name__)
store = redis.Redis.from_url(os.environ["REDIS_URL"])
page = app.jinja_env.from_string(
    """<!doctype html><html lang="da"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1><ul class="cards">
{% for id, name in modules %}<li class="card"><h2><a href="/m/{{ launch_id }}/{{ id }}">{{ name }}</a></h2>
<p>{{ states.get(id, 'Ikke startet') }}</p></li>
{% endfor %}</ul></main></body></html>""")
_keys: dict[str, Any] = {}
_local = threading.local()


def _connection() -> psycopg.Connection[Any]:
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(DATABASE_URL)
    return conn


def _key(kid: str) -> Any:
    if kid not in _keys:
        with urllib.request.urlopen(KEY_SET_URL, timeout=5) as answer:  # noqa: S310 - a local URL
            for jwk in json.load(answer)["keys"]:
                _keys[jwk["kid"]] = RSAAlgorithm.from_jwk(jwk)
    return _keys[kid]


@app.get("/healthz")
def healthz() -> str:
    return "ok"


@app.get("/lti/login")
def login() -> Any:
    if request.args.get("iss") != ISSUER or request.args.get("client_id") != CLIENT_ID:
        abort(400)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    store.set("floor:state:" + state, nonce, ex=600)
    return redirect(AUTH_LOGIN_URL + "?" + urlencode({
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
        "client_id": CLIENT_ID, "redirect_uri": request.args["target_link_uri"], "state": state,
        "nonce": nonce, "login_hint": request.args["login_hint"]}))


@app.post("/lti/launch")
def launch() -> Any:
    state, token = request.form.get("state", ""), request.form.get("id_token", "")
    expected_nonce = store.get("floor:state:" + state)
    if expected_nonce is None:
        abort(400)
    try:
        header = token.split(".", 1)[0]
        kid = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
        claims = jwt.decode(token, _key(kid), algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER)
    except (jwt.PyJWTError, ValueError, KeyError):
        abort(400)
    if claims["nonce"] != expected_nonce.decode():
        abort(400)
    pipe = store.pipeline(transaction=False)
    pipe.delete("floor:state:" + state)
    pipe.set("floor:nonce:" + claims["nonce"], 1, nx=True, ex=600)
    if not pipe.execute()[1]:
        abort(400)
    lti = "https://purl.imsglobal.org/spec/lti/claim/"
    launch_id = uuid.uuid4().hex
    conn = _connection()
    with conn.transaction():
        conn.execute("INSERT INTO floor_launch (id, sub, context, link) VALUES (%s, %s, %s, %s)",
                     (launch_id, claims["sub"], claims[lti + "context"]["id"], claims[lti + "resource_link"]["id"]))
        states = dict(conn.execute("SELECT module, state FROM floor_record WHERE sub = %s", (claims["sub"],)))
    return page.render(title=claims[lti + "resource_link"]["title"], modules=MODULES, states=states,
                       launch_id=launch_id)
