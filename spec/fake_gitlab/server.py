#!/usr/bin/env python3
"""Fake GitLab Jobs API server used by the test suite.

    python3 spec/fake_gitlab/server.py [--url-file PATH] [--host 127.0.0.1]
                                       [--tls-cert CERT --tls-key KEY]
                                       [--parent-pid PID] [--verbose]

Prints one line `READY <primary_url> <secondary_url>` once both listeners
accept connections. Standard library only. See README.md next to this file
for routes, tokens, seed data and the /__control API.
"""

import argparse
import base64
import email.utils
import json
import math
import os
import re
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote_plus, unquote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model  # noqa: E402

API = "/api/v4"

# Personal access tokens (PRIVATE-TOKEN header, private_token query, or Bearer).
PATS = {
    "glpat-valid-token": "full",
    "glpat-readonly": "read",
    "glpat-expired": "expired",
}
# OAuth tokens (Authorization: Bearer, or access_token query).
OAUTH = {
    "oauth-valid-token": "full",
}

MSG_401 = {"message": "401 Unauthorized"}
MSG_EXPIRED = {"error": "invalid_token",
               "error_description": "Token is expired. You can either do re-authorization or token refresh."}
MSG_SCOPE = {"error": "insufficient_scope",
             "error_description": "The request requires higher privileges than provided by the access token.",
             "scope": "api"}
MSG_403 = {"message": "403 Forbidden"}
MSG_ROUTE_404 = {"error": "404 Not Found"}
MSG_PROJECT_404 = {"message": "404 Project Not Found"}
MSG_NOT_FOUND_LC = {"message": "404 Not found"}
MSG_NOT_FOUND = {"message": "404 Not Found"}
MSG_405 = {"message": "405 Method Not Allowed"}
MSG_KEYSET_405 = {"error": "Keyset pagination is not yet available for this type of request"}
MSG_429_ENDPOINT = {"message": {"error": "This endpoint has been requested too many times. Try again later."}}

NET_ERRORS = (ConnectionError, BrokenPipeError, socket.timeout, ssl.SSLError, TimeoutError)

FAULT_KINDS = ("status", "html", "reset", "reset_mid_body", "stall", "truncate", "bad_json",
               "not_json", "deep_json", "drip", "huge_headers", "big_body", "redirect", "headers")
# These kinds damage the real answer, so the real handler always runs for them.
FAULTS_NEEDING_REAL = frozenset(("reset_mid_body", "truncate", "drip", "huge_headers", "headers"))
# A fault that changes one of these can no longer be trusted to delimit the body.
FRAMING_HEADERS = frozenset(("content-length", "transfer-encoding", "connection"))

DEFAULT_CONFIG = {
    "list_totals": False,
    "keyset": "supported",
    "cancel_to_canceling": False,
    "rate_limit": None,
    "offset_limit": 0,
    "utc_offset": "Z",
    "link_base": None,
    "legacy_messages": False,
    "legacy_scopes": False,
}

INT_RE = re.compile(r"[+-]?[0-9]+\Z")
PREFIX_RE = re.compile(r"(/[A-Za-z0-9._~-]+)*\Z")


def api_prefix(raw_path):
    """'' for /api/v4/..., '/gitlab' for /gitlab/api/v4/... (relative URL root), else None."""
    i = raw_path.find(API)
    if i < 0:
        return None
    rest = raw_path[i + len(API):]
    if rest and not rest.startswith("/"):
        return None
    prefix = raw_path[:i]
    if prefix.startswith("/__control") or not PREFIX_RE.match(prefix):
        return None
    return prefix
_local = threading.local()


def reason_of(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def last(pairs, name):
    """Rack semantics: the last value of a plain (non-array) parameter."""
    val = None
    for k, v in pairs:
        if k == name:
            val = v
    return val


class Resp:
    __slots__ = ("status", "headers", "body", "ctype")

    def __init__(self, status, body=b"", ctype="application/json", headers=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = list(headers or [])


def jresp(status, obj, headers=None):
    return Resp(status, jdump(obj), "application/json", headers)


def override_headers(headers, override):
    """headers with each name of override set to its value (the first header of that name, any
    case, keeps its place; later ones go) or removed (value None); new names come last."""
    out = list(headers)
    for name, value in override.items():
        lname = name.lower()
        at = next((i for i, (k, _) in enumerate(out) if k.lower() == lname), len(out))
        out = [kv for i, kv in enumerate(out) if i < at or kv[0].lower() != lname]
        if value is not None:
            out.insert(at, (name, str(value)))
    return out


# --------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------

class State:
    def __init__(self, verbose=False):
        self.store = model.Store()
        self.lock = self.store.lock
        self.verbose = verbose
        self.urls = {"primary": "", "secondary": ""}
        self.stop = threading.Event()
        self.conn_seq = 0
        self._reset_runtime()

    def _reset_runtime(self):
        self.requests = []
        self.faults = []
        self.config = json.loads(json.dumps(DEFAULT_CONFIG))
        self.connections = 0
        self.api_conn_ids = set()
        self.api_requests = 0
        self.rl_start = None
        self.rl_observed = 0

    def reset(self):
        with self.lock:
            self.store.seed()
            self._reset_runtime()

    def new_connection(self):
        with self.lock:
            self.conn_seq += 1
            self.connections += 1
            return self.conn_seq

    def base_url(self):
        return self.urls["primary"]

    def utc_offset(self):
        try:
            return model.parse_offset(self.config.get("utc_offset"))
        except ValueError:
            return 0

    # ---- faults --------------------------------------------------------

    def take_fault(self, method, raw_sub):
        decoded = unquote(raw_sub)
        for i, f in enumerate(self.faults):
            if f["method"] not in ("*", method):
                continue
            rx = f["_re"]
            if not (rx.search(raw_sub) or rx.search(decoded)):
                continue
            if f["count"] > 0:
                f["count"] -= 1
                if f["count"] == 0:
                    del self.faults[i]
            return dict(f)
        return None

    def public_faults(self):
        return [{k: v for k, v in f.items() if not k.startswith("_")} for f in self.faults]

    # ---- rate limit ----------------------------------------------------

    def rate_limit_tick(self):
        rl = self.config.get("rate_limit")
        if not rl:
            return None
        now = time.time()
        period = float(rl.get("period", 60))
        if self.rl_start is None or now >= self.rl_start + period:
            self.rl_start = now
            self.rl_observed = 0
        self.rl_observed += 1
        limit = int(rl["limit"])
        reset_at = self.rl_start + period
        reset_int = int(math.ceil(reset_at))
        headers = [
            ("RateLimit-Name", "throttle_authenticated_api"),
            ("RateLimit-Limit", str(limit)),
            ("RateLimit-Observed", str(self.rl_observed)),
            ("RateLimit-Remaining", str(max(0, limit - self.rl_observed))),
            ("RateLimit-Reset", str(reset_int)),
            ("RateLimit-ResetTime", email.utils.formatdate(reset_int, usegmt=True)),
        ]
        blocked = self.rl_observed > limit
        if blocked:
            headers.append(("Retry-After", str(max(1, int(math.ceil(reset_at - now))))))
        elif not rl.get("headers", True):
            headers = []
        return blocked, headers


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------

def identify(store, hdrs, pairs):
    """-> (kind, value). kind: none | invalid | expired | user (value full/read) | job (token)."""

    def personal(tok, allow_oauth):
        scope = PATS.get(tok)
        if scope is None and allow_oauth:
            scope = OAUTH.get(tok)
        if scope is None:
            return ("invalid", None)
        if scope == "expired":
            return ("expired", None)
        return ("user", scope)

    pt = hdrs.get("private-token")
    if pt is None:
        pt = last(pairs, "private_token")
    if pt:
        return personal(pt, False)
    auth = hdrs.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        tok = auth[7:].strip()
        if tok in store.job_tokens:
            return ("job", tok)
        return personal(tok, True)
    at = last(pairs, "access_token")
    if at:
        return personal(at, True)
    jt = hdrs.get("job-token") or last(pairs, "job_token")
    if jt:
        return ("job", jt)
    return ("none", None)


# --------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------

ACTIONS = ("cancel", "retry", "erase", "play")


def match_route(method, segs):
    """-> (name, args) or None. segs: raw path segments after /api/v4."""
    n = len(segs)
    if any(s == "" for s in segs):
        return None
    get = method == "GET"
    if n == 1:
        if segs[0] == "user" and get:
            return ("user", {})
        if segs[0] == "version" and get:
            return ("version", {})
        if segs[0] == "job" and get:
            return ("job", {})
        return None
    if n == 2 and segs[0] == "job" and segs[1] == "allowed_agents" and get:
        return ("allowed_agents", {})
    if segs[0] != "projects" or n < 2:
        return None
    args = {"id": segs[1]}
    if n == 2:
        return ("project", args) if get else None
    if segs[2] == "jobs":
        if n == 3:
            return ("jobs", args) if get else None
        args["job_id"] = segs[3]
        if n == 4:
            return ("job_get", args) if get else None
        if n == 5:
            if segs[4] == "trace" and get:
                return ("trace", args)
            if segs[4] in ACTIONS and method == "POST":
                args["action"] = segs[4]
                return ("action", args)
        return None
    if segs[2] == "pipelines" and n >= 4:
        args["pipeline_id"] = segs[3]
        if n == 4:
            return ("pipeline", args) if get else None
        if n == 5 and get and segs[4] in ("jobs", "bridges"):
            return ("pipeline_" + segs[4], args)
    return None


class BadRequest(Exception):
    def __init__(self, resp):
        Exception.__init__(self)
        self.resp = resp


def bad(msg):
    return BadRequest(jresp(400, {"error": msg}))


def int_param(pairs, name):
    v = last(pairs, name)
    if v is None or v == "":
        return None
    if not INT_RE.match(v):
        raise bad("%s is invalid" % name)
    return int(v)


LEGACY_MISSING = frozenset(("canceling", "waiting_for_callback"))


def scope_param(pairs, legacy=False):
    arr = [v for k, v in pairs if k == "scope[]"]
    if not arr:
        plain = last(pairs, "scope")
        if plain is None:
            return None
        arr = [plain]
    for v in arr:
        if v not in model.STATUSES or (legacy and v in LEGACY_MISSING):
            raise bad("scope does not have a valid value")
    return set(arr)


TRUE_VALUES = ("true", "1", "yes", "t", "y", "on")
FALSE_VALUES = ("false", "0", "no", "f", "n", "off")


def bool_param(pairs, name):
    v = last(pairs, name)
    if v is None:
        return None
    lv = v.lower()
    if lv in TRUE_VALUES:
        return True
    if lv in FALSE_VALUES:
        return False
    raise bad("%s is invalid" % name)


FORM_VAR_RE = re.compile(r"job_variables_attributes\[(\d*)\]\[([A-Za-z_]+)\]\Z")


def parse_play_variables(hdrs, body, query_pairs):
    """-> list of {"key","value"[,"variable_type"]}. Raises BadRequest."""
    ctype = hdrs.get("content-type", "").split(";")[0].strip().lower()
    entries = None
    if body and ctype == "application/json":
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise bad("message body does not match declared format")
        if not isinstance(data, dict):
            raise bad("message body does not match declared format")
        if "job_variables_attributes" in data:
            entries = data["job_variables_attributes"]
            if isinstance(entries, dict):
                entries = list(entries.values())
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise bad("job_variables_attributes is invalid")
    pairs = list(query_pairs)
    if body and ctype in ("", "application/x-www-form-urlencoded"):
        try:
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            pass
    if entries is None:
        arr = []
        indexed = {}
        for k, v in pairs:
            m = FORM_VAR_RE.match(k)
            if not m:
                continue
            idx, field = m.groups()
            if idx == "":
                if not arr or field in arr[-1]:
                    arr.append({})
                arr[-1][field] = v
            else:
                if idx not in indexed:
                    indexed[idx] = {}
                    arr.append(indexed[idx])
                indexed[idx][field] = v
        entries = arr
    errors = []
    out = []
    for i, e in enumerate(entries):
        if e.get("key") is None:
            errors.append("job_variables_attributes[%d][key] is missing" % i)
        if e.get("value") is None:
            errors.append("job_variables_attributes[%d][value] is missing" % i)
        item = {"key": str(e.get("key")), "value": str(e.get("value"))}
        if e.get("variable_type") is not None:
            item["variable_type"] = str(e["variable_type"])
        out.append(item)
    if errors:
        raise bad(", ".join(errors))
    return out


def link_query(pairs, route_params, overrides, drop=()):
    """Build a Rails-style to_query string: 'k=v' items sorted as strings."""
    skip = {"private_token", "job_token", "access_token", "page", "per_page", "cursor"} | set(drop)
    items = []
    seen_scope_array = any(k == "scope[]" for k, _ in pairs)
    plain = {}
    for k, v in pairs:
        if k in skip or k in overrides or k in route_params:
            continue
        if k.endswith("[]"):
            items.append("%s=%s" % (quote_plus(k), quote_plus(v)))
        elif k == "scope" and not seen_scope_array:
            plain["scope[]"] = v
        else:
            plain[k] = v
    for k, v in plain.items():
        items.append("%s=%s" % (quote_plus(k), quote_plus(v)))
    for k, v in list(route_params.items()) + list(overrides.items()):
        items.append("%s=%s" % (quote_plus(k), quote_plus(str(v))))
    items.sort()
    return "&".join(items)


def clamp_per_page(pairs):
    per = int_param(pairs, "per_page")
    if per is None or per < 1:
        per = 20
    return min(per, 100)


def page_param(pairs):
    page = int_param(pairs, "page")
    if page is None or page < 1:
        page = 1
    return page


def offset_headers(ctx, pairs, route_params, page, per, total, has_next, totals):
    start = (page - 1) * per
    out_of_range = page > 1 and start >= total
    next_page = page + 1 if has_next else None
    prev_page = page - 1 if page > 1 and not out_of_range else None
    url = ctx["link_base"] + ctx["raw_path"]

    def href(n):
        return "%s?%s" % (url, link_query(pairs, route_params, {"page": n, "per_page": per}))

    links = []
    if prev_page:
        links.append('<%s>; rel="prev"' % href(prev_page))
    if next_page:
        links.append('<%s>; rel="next"' % href(next_page))
    links.append('<%s>; rel="first"' % href(1))
    headers = [
        ("X-Page", str(page)),
        ("X-Per-Page", str(per)),
        ("X-Next-Page", str(next_page) if next_page else ""),
        ("X-Prev-Page", str(prev_page) if prev_page else ""),
    ]
    if totals and total <= 10000:
        total_pages = max(1, (total + per - 1) // per)
        headers.append(("X-Total", str(total)))
        headers.append(("X-Total-Pages", str(total_pages)))
        links.append('<%s>; rel="last"' % href(total_pages))
    headers.insert(0, ("Link", ", ".join(links)))
    return headers


def encode_cursor(last_id):
    raw = json.dumps({"id": str(last_id), "_kd": "n"}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cur):
    try:
        pad = "=" * (-len(cur) % 4)
        data = json.loads(base64.urlsafe_b64decode(cur + pad).decode())
        return int(data["id"])
    except Exception:
        raise BadRequest(jresp(400, {"message": "400 Bad request - Invalid cursor parameter"}))


# --------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------

def api_response(st, method, raw_sub, pairs, hdrs, body, ctx):
    """Compute the answer to one /api/v4 request (no network I/O here)."""
    m = "GET" if method == "HEAD" else method
    if not raw_sub.startswith("/"):
        return jresp(404, MSG_ROUTE_404)
    segs = raw_sub[1:].split("/")
    route = match_route(m, segs)
    if route is None:
        return jresp(404, MSG_ROUTE_404)
    name, args = route
    with st.lock:
        try:
            return _api(st, m, name, args, pairs, hdrs, body, ctx)
        except BadRequest as e:
            return e.resp


def _api(st, m, name, args, pairs, hdrs, body, ctx):
    store = st.store
    base = st.base_url()
    off = st.utc_offset()
    kind, tok = identify(store, hdrs, pairs)

    # ---- job-token-only routes ----
    if name in ("job", "allowed_agents"):
        if kind == "user":
            return jresp(404, MSG_NOT_FOUND)
        if kind == "expired":
            return jresp(401, MSG_EXPIRED, [("WWW-Authenticate", _www_auth_expired())])
        if kind == "job":
            job = store.job_for_token(tok)
            if job is not None:
                if name == "job":
                    return jresp(200, store.render(job, base, off))
                return jresp(200, store.allowed_agents(job, base, off))
        return jresp(401, MSG_401)

    # ---- authentication ----
    token_job = None
    if kind in ("none", "invalid"):
        return jresp(401, MSG_401)
    if kind == "expired":
        return jresp(401, MSG_EXPIRED, [("WWW-Authenticate", _www_auth_expired())])
    if kind == "job":
        token_job = store.job_for_token(tok)
        if token_job is None:
            return jresp(401, MSG_401)
        if name in ("user", "version"):
            return jresp(401, MSG_401)
    if kind == "user" and tok == "read" and m == "POST":
        return jresp(403, MSG_SCOPE, [("WWW-Authenticate",
                                       'Bearer realm="Protected by OAuth 2.0", error="insufficient_scope", '
                                       'error_description="The request requires higher privileges than '
                                       'provided by the access token.", scope="api"')])

    if name == "user":
        return jresp(200, model.current_user_json(base))
    if name == "version":
        return jresp(200, {"version": "17.5.3-ee", "revision": "12030cf4",
                           "kas": {"enabled": False, "externalUrl": None, "externalK8sProxyUrl": None,
                                   "version": None},
                           "enterprise": True})

    # ---- parameter validation (before the project is looked up, like Grape) ----
    job_id = pipeline_id = None
    if "job_id" in args:
        s = unquote(args["job_id"])
        if not INT_RE.match(s):
            raise bad("job_id is invalid")
        job_id = int(s)
    if "pipeline_id" in args:
        s = unquote(args["pipeline_id"])
        if not INT_RE.match(s):
            raise bad("pipeline_id is invalid")
        pipeline_id = int(s)
    scopes = include_retried = None
    if name in ("jobs", "pipeline_jobs", "pipeline_bridges"):
        scopes = scope_param(pairs, bool(st.config.get("legacy_scopes")))
        if name == "pipeline_jobs":
            include_retried = bool_param(pairs, "include_retried")
        page_param(pairs)
        clamp_per_page(pairs)
    variables = None
    if name == "action" and args["action"] == "play":
        variables = parse_play_variables(hdrs, body, pairs)

    # ---- project ----
    proj = store.find_project(unquote(args["id"]))
    if proj is None:
        return jresp(404, MSG_PROJECT_404)
    if proj.moved_to is not None:
        if m == "GET":
            segs = ctx["sub"][1:].split("/")
            segs[1] = str(proj.moved_to)
            loc = ctx["base"] + ctx["prefix"] + API + "/" + "/".join(segs)
            if ctx["query"]:
                loc += "?" + ctx["query"]
            return jresp(301, {"message": "301 Moved Permanently"}, [("Location", loc)])
        return jresp(405, MSG_405)
    if token_job is not None and proj.id != token_job.project_id:
        return jresp(404, MSG_PROJECT_404)
    if token_job is not None and m == "POST":
        return jresp(403, MSG_403)

    if name == "project":
        return jresp(200, store.render_project(proj, base))

    if name == "jobs":
        return list_project_jobs(st, proj, pairs, scopes, ctx, base, off)

    if name in ("pipeline", "pipeline_jobs", "pipeline_bridges"):
        pl = store.pipelines.get(pipeline_id)
        if pl is None or pl.project_id != proj.id:
            return jresp(404, MSG_NOT_FOUND_LC)
        if name == "pipeline":
            return jresp(200, store.render_pipeline(pl, base, off))
        want = "build" if name == "pipeline_jobs" else "bridge"
        items = [j for j in store.pipeline_jobs(pl.id)
                 if j.kind == want and (include_retried or not j.retried)
                 and (scopes is None or j.status in scopes)]
        route_params = {"id": unquote(args["id"]), "pipeline_id": str(pipeline_id)}
        if name == "pipeline_jobs":
            route_params["include_retried"] = "true" if include_retried else "false"
        return offset_list(st, items, pairs, ctx, route_params, True, base, off)

    # ---- single job routes ----
    job = store.jobs.get(job_id)
    allow_bridge = name == "action" and args.get("action") == "play"
    if job is None or job.project_id != proj.id or (job.kind == "bridge" and not allow_bridge):
        return jresp(404, MSG_NOT_FOUND_LC)

    if name == "job_get":
        store.on_get(job)
        return jresp(200, store.render(job, base, off))
    if name == "trace":
        if job.trace_forbidden:
            return jresp(403, MSG_403)
        return Resp(200, job.log, "text/plain; charset=utf-8")

    action = args["action"]
    if action == "cancel":
        store.cancel(job, bool(st.config.get("cancel_to_canceling")))
        return jresp(201, store.render(job, base, off))
    if action == "retry":
        if not store.retryable(job):
            return jresp(403, {"message": forbidden_msg(st, "Job is not retryable")})
        new = store.retry(job)
        return jresp(201, store.render(new, base, off))
    if action == "erase":
        if not store.erasable(job):
            return jresp(403, {"message": forbidden_msg(st, "Job is not erasable!")})
        store.erase(job)
        return jresp(201, store.render(job, base, off))
    if action == "play":
        if job.status != "manual":
            return jresp(400, {"message": "400 Bad request - Unplayable Job"})
        store.play(job, variables)
        return jresp(200, store.render(job, base, off))
    return jresp(404, MSG_ROUTE_404)


def forbidden_msg(st, text):
    sep = "  - " if st.config.get("legacy_messages") else " - "
    return "403 Forbidden" + sep + text


def _www_auth_expired():
    return ('Bearer realm="Protected by OAuth 2.0", error="invalid_token", '
            'error_description="Token is expired. You can either do re-authorization or token refresh."')


def list_project_jobs(st, proj, pairs, scopes, ctx, base, off):
    store = st.store
    cfg = st.config
    keyset = last(pairs, "pagination") == "keyset" and cfg.get("keyset") != "ignored"
    items = store.project_builds(proj.id)
    if scopes is not None:
        items = [j for j in items if j.status in scopes]
    route_params = {"id": unquote(ctx["sub"][1:].split("/")[1])}
    if keyset:
        if cfg.get("keyset") == "refused":
            return jresp(405, MSG_KEYSET_405)
        order_by = last(pairs, "order_by")
        sort = last(pairs, "sort")
        if order_by not in (None, "id") or sort not in (None, "desc"):
            return jresp(405, MSG_KEYSET_405)
        per = clamp_per_page(pairs)
        cur = last(pairs, "cursor")
        start = 0
        if cur:
            after = decode_cursor(cur)
            start = len(items)
            for i, j in enumerate(items):
                if j.id < after:
                    start = i
                    break
        rows = items[start:start + per]
        headers = []
        if len(items) > start + per:
            q = link_query(pairs, route_params, {"per_page": per, "cursor": encode_cursor(rows[-1].id),
                                                 "pagination": "keyset"})
            headers.append(("Link", '<%s%s?%s>; rel="next"' % (ctx["link_base"], ctx["raw_path"], q)))
        return jresp(200, [store.render(j, base, off) for j in rows], headers)
    limit = int(cfg.get("offset_limit") or 0)
    if limit > 0 and page_param(pairs) * clamp_per_page(pairs) > limit:
        return jresp(405, {"error": "Offset pagination has a maximum allowed offset of %d for requests that "
                                    "return objects of type Ci::Build. Remaining records can be retrieved "
                                    "using keyset pagination." % limit})
    return offset_list(st, items, pairs, ctx, route_params, bool(cfg.get("list_totals")), base, off)


def offset_list(st, items, pairs, ctx, route_params, totals, base, off):
    page = page_param(pairs)
    per = clamp_per_page(pairs)
    start = (page - 1) * per
    rows = items[start:start + per]
    has_next = len(items) > start + per
    headers = offset_headers(ctx, pairs, route_params, page, per, len(items), has_next, totals)
    return jresp(200, [st.store.render(j, base, off) for j in rows], headers)


# --------------------------------------------------------------------------
# Control API
# --------------------------------------------------------------------------

def validate_config(data):
    if not isinstance(data, dict):
        return "config must be a JSON object"
    for k, v in data.items():
        if k not in DEFAULT_CONFIG:
            return "unknown config key %r (known: %s)" % (k, ", ".join(sorted(DEFAULT_CONFIG)))
        if k in ("list_totals", "cancel_to_canceling", "legacy_messages", "legacy_scopes") \
                and not isinstance(v, bool):
            return "%s must be a boolean" % k
        if k == "keyset" and v not in ("supported", "ignored", "refused"):
            return "keyset must be supported, ignored or refused"
        if k == "link_base" and v is not None and (not isinstance(v, str) or "://" not in v):
            return "link_base must be null or an absolute URL such as http://host:port[/prefix]"
        if k == "offset_limit" and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            return "offset_limit must be a non-negative integer"
        if k == "utc_offset":
            try:
                model.parse_offset(v)
            except (ValueError, TypeError):
                return "utc_offset must look like +hh:mm, -hh:mm or Z"
        if k == "rate_limit" and v is not None:
            if not isinstance(v, dict) or not isinstance(v.get("limit"), int) or v["limit"] < 0:
                return "rate_limit must be null or {\"limit\": N, \"period\": seconds, \"headers\": bool}"
            bad_keys = set(v) - {"limit", "period", "headers"}
            if bad_keys:
                return "rate_limit: unknown key(s) %s" % ", ".join(sorted(bad_keys))
            if "period" in v and (not isinstance(v["period"], (int, float)) or v["period"] <= 0):
                return "rate_limit.period must be a positive number"
    return None


FAULT_DEFAULTS = {
    "status": {"status": 500},
    "html": {"status": 502},
    "stall": {"delay": 30.0},
    "deep_json": {"depth": 100000},
    "drip": {"delay": 0.05, "chunk": 16},
    "huge_headers": {"size": 65536, "line": 1000},
    "bad_json": {"status": 200},
    "not_json": {"status": 200},
    "big_body": {"size": 10 * 1024 * 1024, "status": 200},
    "redirect": {"status": 302},
}


def check_fault_headers(headers):
    if not isinstance(headers, dict):
        raise ValueError("headers must be an object")
    for k, v in headers.items():
        if not k or any(c in k for c in ":\r\n"):
            raise ValueError("header name %r is not a header name" % k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int, float))):
            raise ValueError("header %s: the value must be a string, a number or null" % k)
        if isinstance(v, str) and ("\r" in v or "\n" in v):
            raise ValueError("header %s: the value must be one line" % k)


def build_fault(spec):
    if not isinstance(spec, dict):
        raise ValueError("a fault must be a JSON object")
    kind = spec.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError("kind must be one of %s" % ", ".join(FAULT_KINDS))
    f = dict(FAULT_DEFAULTS.get(kind, {}))
    f.update(spec)
    f["method"] = str(f.get("method", "*")).upper()
    f["path"] = str(f.get("path", ""))
    f["count"] = int(f.get("count", 1))
    f["apply"] = bool(f.get("apply", False))
    if f["count"] == 0 or f["count"] < -1:
        raise ValueError("count must be a positive integer, or -1 for unlimited")
    try:
        f["_re"] = re.compile(f["path"])
    except re.error as e:
        raise ValueError("bad path regex: %s" % e)
    check_fault_headers(f.get("headers", {}))
    if kind == "headers" and not f.get("headers"):
        raise ValueError("kind headers needs headers: {\"Name\": \"value\" or null, ...}")
    if kind == "redirect":
        if f.get("to") not in ("self", "second") and not isinstance(f.get("location"), str):
            raise ValueError("redirect needs location (a string, sent as given) or to: self|second")
    for k in ("delay",):
        if k in f and (not isinstance(f[k], (int, float)) or f[k] < 0):
            raise ValueError("%s must be a non-negative number" % k)
    for k in ("size", "depth", "chunk", "line", "bytes", "status"):
        if k in f and (not isinstance(f[k], int) or isinstance(f[k], bool) or f[k] < 0):
            raise ValueError("%s must be a non-negative integer" % k)
    return f


# --------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    timeout = None

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        self.conn_id = getattr(_local, "conn_id", 0)
        self._dead = False
        self.fault_headers = None

    def handle(self):
        try:
            BaseHTTPRequestHandler.handle(self)
        except NET_ERRORS:
            self.close_connection = True
        except (OSError, ValueError):
            self.close_connection = True

    def finish(self):
        try:
            BaseHTTPRequestHandler.finish(self)
        except Exception:
            pass

    def log_message(self, fmt, *args):
        if self.server.state.verbose:
            sys.stderr.write("[fake-gitlab %s] %s\n" % (self.server.name, fmt % args))

    # every method goes through dispatch
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # ---- low-level output ---------------------------------------------

    def head_bytes(self, status, headers, length, reason=None):
        override = self.fault_headers
        if override and any(k.lower() in FRAMING_HEADERS for k in override):
            # the framing may now lie: closing the connection is the only end the client can trust
            self.close_connection = True
        hs = [("Server", "nginx"), ("Date", email.utils.formatdate(usegmt=True))] + list(headers)
        if length is not None:
            hs.append(("Content-Length", str(length)))
        if self.close_connection:
            hs.append(("Connection", "close"))
        elif self.request_version == "HTTP/1.0":
            hs.append(("Connection", "keep-alive"))
        if override:
            hs = override_headers(hs, override)
        lines = ["HTTP/1.1 %d %s" % (status, reason or reason_of(status))]
        lines += ["%s: %s" % kv for kv in hs]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    def resp_headers(self, resp, api=True):
        hs = [("Content-Type", resp.ctype)]
        if api:
            rid = os.urandom(13).hex().upper()[:26]
            hs += [
                ("Cache-Control", "max-age=0, private, must-revalidate"),
                ("Vary", "Origin"),
                ("X-Content-Type-Options", "nosniff"),
                ("X-Frame-Options", "SAMEORIGIN"),
                ("X-Gitlab-Meta", '{"correlation_id":"%s","version":"1"}' % rid),
                ("X-Request-Id", rid),
                ("X-Runtime", "0.0%05d" % (int(time.time() * 1e6) % 100000)),
            ]
        # explicit headers override defaults of the same name
        names = {k.lower() for k, _ in resp.headers}
        hs = [(k, v) for k, v in hs if k.lower() not in names]
        return hs + resp.headers

    def emit(self, resp, api=True):
        body = resp.body
        head = self.head_bytes(resp.status, self.resp_headers(resp, api), len(body))
        if self.command == "HEAD":
            self.wfile.write(head)
        elif len(body) <= 65536:
            self.wfile.write(head + body)
        else:
            self.wfile.write(head)
            self.write_big(body)

    def write_big(self, body):
        mv = memoryview(body)
        for i in range(0, len(mv), 1 << 20):
            self.wfile.write(mv[i:i + (1 << 20)])

    def rst(self):
        """Abort the connection with a TCP RST."""
        self._dead = True
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.rfile.close()
        except Exception:
            pass
        try:
            self.connection.close()
        except Exception:
            pass

    # ---- request input -------------------------------------------------

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n <= 0:
            return b""
        data = self.rfile.read(n)
        if len(data) < n:
            raise ConnectionError("eof in body")
        return data

    def header_dict(self):
        out = {}
        for k, v in self.headers.items():
            lk = k.lower()
            out[lk] = out[lk] + ", " + v if lk in out else v
        return out

    # ---- dispatch ------------------------------------------------------

    def dispatch(self):
        self.fault_headers = None
        try:
            try:
                body = self.read_body()
            except ValueError:
                self.close_connection = True
                self.emit(jresp(400, {"error": "bad request body"}), api=False)
                return
            target = self.path
            if target.startswith(("http://", "https://")):
                rest = target.split("://", 1)[1]
                target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
            target = target.split("#", 1)[0]
            raw_path, _, query = target.partition("?")
            if raw_path == "/__control" or raw_path.startswith("/__control/"):
                self.control(raw_path, query, body)
            elif api_prefix(raw_path) is not None:
                self.api_request(raw_path, query, body)
            else:
                self.emit(jresp(404, MSG_ROUTE_404))
        except NET_ERRORS:
            self.close_connection = True
        except Exception:
            self.close_connection = True
            if self._dead:
                return
            sys.stderr.write("fake-gitlab: internal error on %s %s\n" % (self.command, self.path))
            traceback.print_exc()
            try:
                self.emit(jresp(500, {"message": "500 Internal Server Error"}))
            except Exception:
                pass

    def api_request(self, raw_path, query, body):
        st = self.server.state
        method = self.command
        prefix = api_prefix(raw_path)
        raw_sub = raw_path[len(prefix) + len(API):]
        pairs = parse_qsl(query, keep_blank_values=True)
        hdrs = self.header_dict()
        host = hdrs.get("host") or "%s:%d" % self.server.server_address[:2]
        base = "%s://%s" % (self.server.scheme, host)
        with st.lock:
            link_base = st.config.get("link_base") or base
        ctx = {"base": base, "link_base": link_base.rstrip("/"), "raw_path": raw_path, "prefix": prefix,
               "sub": raw_sub, "query": query}
        params = {}
        for k, v in pairs:
            params.setdefault(k, []).append(v)
        try:
            parsed = json.loads(body.decode("utf-8")) if body.strip() else None
        except (ValueError, UnicodeDecodeError):
            parsed = None
        entry = {
            "method": method,
            "path": raw_path,
            "query": query,
            "params": params,
            "headers": hdrs,
            "body": body.decode("utf-8", "replace"),
            "json": parsed,
            "fault": None,
            "status": None,
            "connection": self.conn_id,
            "listener": self.server.name,
            "time": time.time(),
        }
        with st.lock:
            st.requests.append(entry)
            st.api_requests += 1
            st.api_conn_ids.add(self.conn_id)
            fault = st.take_fault(method, raw_sub)
            rl = None if fault else st.rate_limit_tick()
            if fault:
                entry["fault"] = fault["kind"]

        def real():
            return api_response(st, method, raw_sub, pairs, hdrs, body, ctx)

        if fault:
            self.apply_fault(fault, entry, real, raw_path, query)
            return
        if rl is not None and rl[0]:
            resp = Resp(429, b"Retry later\n", "text/plain", rl[1])
            entry["fault"] = "rate_limit"
        else:
            resp = real()
            if rl is not None:
                resp.headers.extend(rl[1])
        entry["status"] = resp.status
        self.emit(resp)

    # ---- faults --------------------------------------------------------

    def apply_fault(self, f, entry, real, raw_path, query):
        kind = f["kind"]
        st = self.server.state
        resp = None
        if kind in FAULTS_NEEDING_REAL or f.get("apply"):
            resp = real()
        self.fault_headers = f.get("headers")

        def set_status(s):
            with st.lock:
                entry["status"] = s

        if kind == "status":
            status = int(f.get("status", 500))
            body = f.get("body")
            if body is None:
                body = jdump(MSG_429_ENDPOINT if status == 429 else {"message": "%d %s" % (status, reason_of(status))})
            elif not isinstance(body, str):
                body = jdump(body)
            else:
                body = body.encode("utf-8")
            set_status(status)
            self.emit(Resp(status, body))
        elif kind == "html":
            status = int(f.get("status", 502))
            phrase = "%d %s" % (status, reason_of(status))
            page = ("<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n"
                    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n" % (phrase, phrase))
            body = f.get("body", page).encode("utf-8")
            set_status(status)
            self.emit(Resp(status, body, "text/html"), api=False)
        elif kind == "reset":
            self.rst()
        elif kind == "reset_mid_body":
            set_status(resp.status)
            head = self.head_bytes(resp.status, self.resp_headers(resp), len(resp.body))
            cut = int(f.get("bytes", len(resp.body) // 2))
            self.wfile.write(head + resp.body[:cut])
            time.sleep(0.05)
            self.rst()
        elif kind == "stall":
            self.close_connection = True
            deadline = time.time() + float(f.get("delay", 30))
            while time.time() < deadline and not st.stop.is_set():
                time.sleep(min(0.1, max(0.0, deadline - time.time())))
        elif kind == "truncate":
            self.close_connection = True
            set_status(resp.status)
            body = resp.body
            cut = int(f.get("bytes", len(body) // 2))
            if cut >= len(body) and body:
                cut = len(body) - 1
            head = self.head_bytes(resp.status, self.resp_headers(resp), len(body) if body else 100)
            self.wfile.write(head + body[:cut])
        elif kind == "bad_json":
            status = int(f.get("status", 200))
            set_status(status)
            self.emit(Resp(status, f.get("body", '[{"id":1001,"name":"compile","status":').encode("utf-8")))
        elif kind == "not_json":
            status = int(f.get("status", 200))
            set_status(status)
            body = f.get("body", "<!DOCTYPE html>\n<html><head><title>Sign in \u00b7 GitLab</title></head>"
                                 "<body><h1>Sign in</h1></body></html>\n")
            self.emit(Resp(status, body.encode("utf-8"), "text/html; charset=utf-8"))
        elif kind == "deep_json":
            depth = int(f.get("depth", 100000))
            set_status(200)
            self.emit(Resp(200, b"[" * depth + b"]" * depth))
        elif kind == "drip":
            set_status(resp.status)
            data = self.head_bytes(resp.status, self.resp_headers(resp), len(resp.body)) + \
                (b"" if self.command == "HEAD" else resp.body)
            chunk = max(1, int(f.get("chunk", 16)))
            delay = float(f.get("delay", 0.05))
            for i in range(0, len(data), chunk):
                if i:
                    time.sleep(delay)
                self.wfile.write(data[i:i + chunk])
        elif kind == "huge_headers":
            set_status(resp.status)
            size = int(f.get("size", 65536))
            line = max(20, int(f.get("line", 1000)))
            n = 0
            total = 0
            while total < size:
                name = "X-Padding-%05d" % n
                vlen = max(1, min(line - len(name) - 4, size - total - len(name) - 4))
                resp.headers.append((name, "x" * vlen))
                total += len(name) + 4 + vlen
                n += 1
            self.emit(resp)
        elif kind == "big_body":
            size = max(2, int(f.get("size", 10 * 1024 * 1024)))
            status = int(f.get("status", 200))
            set_status(status)
            self.wfile.write(self.head_bytes(status, self.resp_headers(Resp(status)), size))
            if self.command != "HEAD":
                inner = size - 2
                self.wfile.write(b"[")
                block = b"1," * 32768
                left = inner
                # items "1," ... then a final "1" or "11" so the array stays valid JSON
                tail = b"1" if inner % 2 == 1 else b"11" if inner else b""
                left -= len(tail)
                while left > 0:
                    piece = block[:left]
                    self.wfile.write(piece)
                    left -= len(piece)
                self.wfile.write(tail + b"]")
        elif kind == "headers":
            set_status(resp.status)
            self.emit(resp)
        elif kind == "redirect":
            status = int(f.get("status", 302))
            if f.get("to") in ("self", "second"):
                origin = st.urls["primary" if f["to"] == "self" else "secondary"]
                loc = origin + raw_path + ("?" + query if query else "")
            else:
                loc = str(f["location"])
            set_status(status)
            body = ('<html><body>You are being <a href="%s">redirected</a>.</body></html>' % loc).encode()
            self.emit(Resp(status, body, "text/html; charset=utf-8", [("Location", loc)]))

    # ---- control -------------------------------------------------------

    def control(self, raw_path, query, body):
        st = self.server.state
        method = self.command
        parts = raw_path.split("/")[2:]

        def ok(obj, status=200):
            self.emit(jresp(status, obj), api=False)

        def fail(msg, status=400):
            self.emit(jresp(status, {"error": msg}), api=False)

        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError) as e:
            return fail("invalid JSON body: %s" % e)

        if parts == ["reset"] and method == "POST":
            st.reset()
            return ok({})
        if parts == ["ping"]:
            return ok({})
        if parts == ["shutdown"] and method == "POST":
            self.close_connection = True
            ok({})
            st.stop.set()
            return
        if parts == ["requests"]:
            if method == "GET":
                with st.lock:
                    payload = jdump(st.requests)
                return self.emit(Resp(200, payload), api=False)
            if method == "DELETE":
                with st.lock:
                    st.requests = []
                return ok({})
        if parts == ["stats"] and method == "GET":
            with st.lock:
                return ok({"connections": st.connections, "api_connections": len(st.api_conn_ids),
                           "requests": st.api_requests})
        if parts == ["config"]:
            if method == "GET":
                with st.lock:
                    return ok(st.config)
            if method == "POST":
                err = validate_config(data)
                if err:
                    return fail(err)
                with st.lock:
                    st.config.update(data)
                    if "rate_limit" in data:
                        st.rl_start = None
                        st.rl_observed = 0
                    return ok(st.config)
        if parts == ["faults"]:
            if method == "GET":
                with st.lock:
                    return ok(st.public_faults())
            if method == "DELETE":
                with st.lock:
                    st.faults = []
                return ok([])
            if method == "POST":
                specs = data if isinstance(data, list) else [data]
                try:
                    built = [build_fault(s) for s in specs]
                except (ValueError, TypeError) as e:
                    return fail(str(e))
                with st.lock:
                    st.faults.extend(built)
                    return ok(st.public_faults())
        if len(parts) in (2, 3) and parts[0] == "jobs":
            if not parts[1].isdigit():
                return fail("job id must be an integer")
            with st.lock:
                job = st.store.jobs.get(int(parts[1]))
                if job is None:
                    return fail("no job %s" % parts[1], 404)
                base = st.base_url()
                if len(parts) == 2 and method == "GET":
                    return ok(st.store.internal_view(job, base))
                if len(parts) == 2 and method == "POST":
                    err = model.validate_step(data, "mutation")
                    if err:
                        return fail(err)
                    st.store.apply_step(job, data)
                    return ok(st.store.render(job, base, st.utc_offset()))
                if len(parts) == 3 and parts[2] == "script" and method == "POST":
                    if not isinstance(data, dict) or set(data) - {"steps", "retries"}:
                        return fail("script must be {\"steps\": [...], \"retries\": [[...], ...]}")
                    steps = data.get("steps", [])
                    retries = data.get("retries", [])
                    if not isinstance(steps, list) or not isinstance(retries, list):
                        return fail("steps and retries must be arrays")
                    for i, s in enumerate(steps):
                        err = model.validate_step(s, "steps[%d]" % i)
                        if err:
                            return fail(err)
                    for k, r in enumerate(retries):
                        if not isinstance(r, list):
                            return fail("retries[%d] must be an array of steps" % k)
                        for i, s in enumerate(r):
                            err = model.validate_step(s, "retries[%d][%d]" % (k, i))
                            if err:
                                return fail(err)
                    st.store.set_script(job, steps, retries)
                    return ok({"job_id": job.id, "steps": len(steps), "retries": len(retries)})
        return fail("unknown control route %s %s" % (method, raw_path), 404)


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, state, name, ssl_ctx):
        self.state = state
        self.name = name
        self.ssl_ctx = ssl_ctx
        self.scheme = "https" if ssl_ctx else "http"
        ThreadingHTTPServer.__init__(self, addr, Handler)

    def server_bind(self):
        # skip HTTPServer.server_bind: its getfqdn() may do a slow reverse lookup
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port

    def finish_request(self, request, client_address):
        _local.conn_id = self.state.new_connection()
        if self.ssl_ctx is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        try:
            request.settimeout(10)
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except (OSError, ssl.SSLError, ValueError):
            try:
                request.close()
            except OSError:
                pass
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ValueError)):
            return
        ThreadingHTTPServer.handle_error(self, request, client_address)


def write_url_file(path, urls):
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    with open(tmp, "w") as fh:
        fh.write(urls[0] + "\n" + urls[1] + "\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake GitLab Jobs API server for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="primary port (default: OS-picked)")
    ap.add_argument("--port2", type=int, default=0, help="secondary port (default: OS-picked)")
    ap.add_argument("--url-file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--parent-pid", type=int)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    ctx = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            ap.error("--tls-cert and --tls-key go together")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        try:
            ctx.set_alpn_protocols(["http/1.1"])
        except NotImplementedError:
            pass

    state = State(verbose=args.verbose)
    primary = Listener((args.host, args.port), state, "primary", ctx)
    secondary = Listener((args.host, args.port2), state, "secondary", ctx)
    scheme = "https" if ctx else "http"
    host = args.host if ":" not in args.host else "[%s]" % args.host
    urls = ["%s://%s:%d" % (scheme, host, s.server_address[1]) for s in (primary, secondary)]
    state.urls["primary"], state.urls["secondary"] = urls

    for s in (primary, secondary):
        t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        t.start()

    def on_signal(signum, frame):
        state.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    if args.url_file:
        write_url_file(args.url_file, urls)
    sys.stdout.write("READY %s %s\n" % (urls[0], urls[1]))
    sys.stdout.flush()

    parent = args.parent_pid
    # When the watched process is our direct parent, being re-parented also means it died.
    direct_child = parent is not None and os.getppid() == parent
    next_check = time.time() + 1.0
    while not state.stop.wait(0.2):
        if parent and time.time() >= next_check:
            next_check = time.time() + 1.0
            alive = True
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                alive = False
            except PermissionError:
                pass
            if alive and direct_child and os.getppid() != parent:
                alive = False
            if not alive:
                break

    for s in (primary, secondary):
        s.shutdown()
        s.server_close()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
