#!/usr/bin/env python3
"""Fake GitLab Jobs API server used by the test suite.

    python3 spec/fake_gitlab/server.py [--url-file PATH] [--host 127.0.0.1]
                                       [--tls-cert CERT --tls-key KEY]
                                       [--parent-pid PID] [--verbose]

Prints one line `READY <primary_url> <secondary_url> <storage_url>` once the
three listeners accept connections. Standard library only. See README.md next to this file
for routes, tokens, seed data and the /__control API.
"""

import argparse
import base64
import email.utils
import itertools
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
from urllib.parse import parse_qsl, quote_plus, unquote, unquote_to_bytes

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import archives  # noqa: E402
import model  # noqa: E402
import storage  # noqa: E402

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
MSG_400 = {"message": "400 Bad request"}
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
    "object_storage": False,
    "object_storage_files": False,
    "storage_url_expires": 600,
    "ranges": {"archive": True, "file": False, "trace": False, "storage": True},
    "keep_latest_artifacts": True,
    "latency": 0,
}
# Which answers honour Range: by default as GitLab's do (Workhorse's sendfile and object
# storage do; the trace route and Workhorse's single files send the whole body).
RANGE_FAMILIES = tuple(DEFAULT_CONFIG["ranges"])
LISTENERS = ("primary", "secondary", "storage")

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
        self.urls = {"primary": "", "secondary": "", "storage": ""}
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
        self.storage_requests = 0
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

    def ranges(self, family):
        """Whether that family of answers honours Range (config ranges)."""
        return bool(self.config["ranges"].get(family))

    def take_fault(self, method, raw_sub, listener):
        decoded = unquote(raw_sub)
        for i, f in enumerate(self.faults):
            if f["method"] not in ("*", method):
                continue
            if f["listener"] not in ("*", listener) and not (f["listener"] == "api" and listener != "storage"):
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


def match_artifact_route(segs):
    """The GET routes that end in a path inside an archive (which may hold empty segments)
    or a ref (which may hold raw slashes, like GitLab's ref_name /.+/), or None."""
    n = len(segs)
    if n < 5 or segs[0] != "projects" or segs[2] != "jobs" or "" in segs[:4]:
        return None
    args = {"id": segs[1]}
    if segs[3] == "artifacts" and n >= 6 and "" not in segs[4:-1]:
        if segs[-1] == "download":
            args["ref"] = "/".join(segs[4:-1])
            return ("artifacts_by_ref", args)
        # the ref takes all it can, up to the last raw segment that leaves a path after it
        at = max((i for i in range(5, n - 1) if segs[i] == "raw"), default=None)
        if at is not None:
            args["ref"] = "/".join(segs[4:at])
            args["artifact_path"] = "/".join(segs[at + 1:])
            return ("artifact_by_ref", args)
    if n >= 6 and segs[4] == "artifacts":
        args["job_id"] = segs[3]
        args["artifact_path"] = "/".join(segs[5:])
        return ("artifact_file", args)
    return None


def match_route(method, segs):
    """-> (name, args) or None. segs: raw path segments after /api/v4."""
    n = len(segs)
    if method == "GET":
        route = match_artifact_route(segs)
        if route is not None:
            return route
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
    if n == 3 and segs[2] == "artifacts" and method == "DELETE":
        return ("delete_project_artifacts", args)
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
                return (segs[4], args)
            if segs[4] == "artifacts" and method in ("GET", "DELETE"):
                return ("artifacts" if get else "delete_artifacts", args)
        if n == 6 and segs[4:] == ["artifacts", "keep"] and method == "POST":
            return ("keep_artifacts", args)
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
            return answer(Call(st, m, args, pairs, hdrs, body, ctx), ROUTES[name])
        except BadRequest as e:
            return e.resp


class Call:
    """One API request on its way through the checks, and what they found."""

    def __init__(self, st, method, args, pairs, hdrs, body, ctx):
        self.st = st
        self.store = st.store
        self.method = method
        self.args = args
        self.pairs = pairs
        self.hdrs = hdrs
        self.body = body
        self.ctx = ctx
        self.base = st.base_url()
        self.off = st.utc_offset()
        self.token_job = self.project = self.pipeline = self.job = None
        self.job_id = self.pipeline_id = self.scopes = self.include_retried = self.variables = None
        self.force = self.sort = self.job_name = self.artifact_path = None

    def render(self, job):
        return self.store.render(job, self.base, self.off)


class Route:
    """who: "job" (a job token only), "user" (a personal or OAuth token) or "any";
    checks: the parameter checks, run before the project is looked up (like Grape);
    needs: None, or what is looked up before answer runs (project, pipeline, job, job_or_bridge)."""

    def __init__(self, who, answer, checks=(), needs=None):
        self.who = who
        self.answer = answer
        self.checks = checks
        self.needs = needs


def answer(c, route):
    """The checks in GitLab's order: authentication, parameters, project, then what the route needs."""
    kind, tok = identify(c.store, c.hdrs, c.pairs)
    if route.who == "job":
        return job_token_answer(c, route, kind, tok)
    refused = authenticate(c, route, kind, tok)
    if refused is not None:
        return refused
    for check in route.checks:
        check(c)
    if route.needs is None:
        return route.answer(c)
    refused = find_project(c) or LOOKUPS[route.needs](c)
    return refused or route.answer(c)


def expired_401():
    return jresp(401, MSG_EXPIRED, [("WWW-Authenticate", _www_auth_expired())])


def job_token_answer(c, route, kind, tok):
    if kind == "user":
        return jresp(404, MSG_NOT_FOUND)
    if kind == "expired":
        return expired_401()
    if kind == "job":
        c.token_job = c.store.job_for_token(tok)
        if c.token_job is not None:
            return route.answer(c)
    return jresp(401, MSG_401)


def authenticate(c, route, kind, tok):
    """None when the token may call the route, else the refusal."""
    if kind in ("none", "invalid"):
        return jresp(401, MSG_401)
    if kind == "expired":
        return expired_401()
    if kind == "job":
        c.token_job = c.store.job_for_token(tok)
        if c.token_job is None or route.who == "user":
            return jresp(401, MSG_401)
    if kind == "user" and tok == "read" and c.method != "GET":
        return jresp(403, MSG_SCOPE, [("WWW-Authenticate",
                                       'Bearer realm="Protected by OAuth 2.0", error="insufficient_scope", '
                                       'error_description="The request requires higher privileges than '
                                       'provided by the access token.", scope="api"')])
    return None


# ---- parameter checks (they raise BadRequest) ----

def int_arg(key):
    def check(c):
        s = unquote(c.args[key])
        if not INT_RE.match(s):
            raise bad("%s is invalid" % key)
        setattr(c, key, int(s))
    return check


check_job_id = int_arg("job_id")
check_pipeline_id = int_arg("pipeline_id")


def check_scope(c):
    c.scopes = scope_param(c.pairs, bool(c.st.config.get("legacy_scopes")))


def check_include_retried(c):
    c.include_retried = bool_param(c.pairs, "include_retried")


def check_pages(c):
    page_param(c.pairs)
    clamp_per_page(c.pairs)


def check_variables(c):
    c.variables = parse_play_variables(c.hdrs, c.body, c.pairs)


def body_pairs(c):
    """The request's parameters: the query's, then a JSON object's or a form body's (as
    Grape merges them; a JSON true stays true)."""
    pairs = list(c.pairs)
    ctype = c.hdrs.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = c.body.decode("utf-8")
    except UnicodeDecodeError:
        return pairs
    if ctype == "application/json":
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            raise bad("message body does not match declared format")
        if isinstance(data, dict):
            pairs += [(k, json.dumps(v) if isinstance(v, bool) else str(v)) for k, v in data.items()]
    elif ctype in ("", "application/x-www-form-urlencoded"):
        pairs += parse_qsl(text, keep_blank_values=True)
    return pairs


def check_force(c):
    c.force = bool_param(body_pairs(c), "force")


def check_order(c):
    """order_by and sort of an offset list (keyset pages judge their own, with a 405)."""
    keyset = last(c.pairs, "pagination") == "keyset" and c.st.config.get("keyset") != "ignored"
    if keyset:
        return
    errors = []
    if last(c.pairs, "order_by") not in (None, "id"):
        errors.append("order_by does not have a valid value")
    c.sort = last(c.pairs, "sort")
    if c.sort not in (None, "asc", "desc"):
        errors.append("sort does not have a valid value")
    if errors:
        raise bad(", ".join(errors))


def check_job_name(c):
    c.job_name = last(c.pairs, "job")
    if c.job_name is None:
        raise bad("job is missing")


def check_artifact_path(c):
    """Each segment percent-decoded; None when the path holds a NUL or is not UTF-8 (GitLab
    answers 400 once it has found the job)."""
    try:
        path = "/".join(unquote_to_bytes(s).decode("utf-8") for s in c.args["artifact_path"].split("/"))
    except UnicodeDecodeError:
        path = None
    c.artifact_path = None if path is None or "\0" in path else path


# ---- look-ups (None when found, else the refusal) ----

def find_project(c):
    proj = c.store.find_project(unquote(c.args["id"]))
    if proj is None:
        return jresp(404, MSG_PROJECT_404)
    if proj.moved_to is not None:
        if c.method != "GET":
            return jresp(405, MSG_405)
        ctx = c.ctx
        segs = ctx["sub"][1:].split("/")
        segs[1] = str(proj.moved_to)
        loc = ctx["base"] + ctx["prefix"] + API + "/" + "/".join(segs)
        if ctx["query"]:
            loc += "?" + ctx["query"]
        return jresp(301, {"message": "301 Moved Permanently"}, [("Location", loc)])
    if c.token_job is not None and proj.id != c.token_job.project_id:
        return jresp(404, MSG_PROJECT_404)
    if c.token_job is not None and c.method != "GET":
        return jresp(403, MSG_403)
    c.project = proj
    return None


def find_pipeline(c):
    pl = c.store.pipelines.get(c.pipeline_id)
    if pl is None or pl.project_id != c.project.id:
        return jresp(404, MSG_NOT_FOUND_LC)
    c.pipeline = pl
    return None


def find_job(c, allow_bridge=False):
    job = c.store.jobs.get(c.job_id)
    if job is None or job.project_id != c.project.id or (job.kind == "bridge" and not allow_bridge):
        return jresp(404, MSG_NOT_FOUND_LC)
    c.job = job
    return None


def find_ref_build(c):
    """The job of that name in the newest successful pipeline of the ref, with an archive."""
    job = c.store.latest_successful_build(c.project.id, unquote(c.args["ref"]), c.job_name)
    if job is None:
        return jresp(404, MSG_NOT_FOUND_LC)
    c.job = job
    return None


LOOKUPS = {
    "project": lambda c: None,
    "ref_build": find_ref_build,
    "pipeline": find_pipeline,
    "job": find_job,
    "job_or_bridge": lambda c: find_job(c, allow_bridge=True),
}


# ---- the answers ----

def answer_job(c):
    return jresp(200, c.render(c.token_job))


def answer_allowed_agents(c):
    return jresp(200, c.store.allowed_agents(c.token_job, c.base, c.off))


def answer_user(c):
    return jresp(200, model.current_user_json(c.base))


def answer_version(c):
    return jresp(200, {"version": "17.5.3-ee", "revision": "12030cf4",
                       "kas": {"enabled": False, "externalUrl": None, "externalK8sProxyUrl": None,
                               "version": None},
                       "enterprise": True})


def answer_project(c):
    return jresp(200, c.store.render_project(c.project, c.base))


def answer_pipeline(c):
    return jresp(200, c.store.render_pipeline(c.pipeline, c.base, c.off))


def pipeline_list(c, want, route_params):
    items = [j for j in c.store.pipeline_jobs(c.pipeline.id)
             if j.kind == want and (c.include_retried or not j.retried)
             and (c.scopes is None or j.status in c.scopes)]
    route_params = dict({"id": unquote(c.args["id"]), "pipeline_id": str(c.pipeline_id)}, **route_params)
    return offset_list(c, items, route_params, True)


def answer_pipeline_jobs(c):
    return pipeline_list(c, "build", {"include_retried": "true" if c.include_retried else "false"})


def answer_pipeline_bridges(c):
    return pipeline_list(c, "bridge", {})


def answer_job_get(c):
    c.store.on_get(c.job)
    return jresp(200, c.render(c.job))


def answer_trace(c):
    if c.job.trace_forbidden:
        return jresp(403, MSG_403)
    return ranged(c, "trace", Resp(200, c.job.log, "text/plain; charset=utf-8"))


def answer_cancel(c):
    c.store.cancel(c.job, bool(c.st.config.get("cancel_to_canceling")), force=bool(c.force))
    return jresp(201, c.render(c.job))


# ---- artifacts ----

def ranged(c, family, resp):
    """resp (a 200) cut to the request's Range, when that family honours ranges: 206 with
    Content-Range, or 416 with Content-Range: bytes */LEN (Go's words, as Workhorse sends)."""
    if not c.st.ranges(family):
        return resp
    resp.headers.append(("Accept-Ranges", "bytes"))
    n = len(resp.body)
    r = archives.parse_range(c.hdrs.get("range"), n)
    if r is None:
        return resp
    if r == archives.UNSATISFIABLE:
        return Resp(416, b"invalid range: failed to overlap\n", "text/plain; charset=utf-8",
                    [("Content-Range", "bytes */%d" % n)])
    start, end = r
    resp.headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end - 1, n)))
    resp.status = 206
    resp.body = archives.Slice(resp.body, start, end) if isinstance(resp.body, archives.Body) else \
        resp.body[start:end]
    return resp


def storage_redirect(c, job, entry=None):
    """302 to a signed URL on the storage listener, as GitLab.com answers a download."""
    key = storage.object_key(job, job.archive, entry)
    url = storage.signed_url(c.st.urls["storage"], c.ctx["method"], key, time.time(),
                             c.st.config.get("storage_url_expires", 600))
    return Resp(302, ("This resource has been moved temporarily to %s." % url).encode(), "text/plain",
                [("Location", url)])


def archive_answer(c, job):
    """The archive as Rails hands it to Workhorse: an attachment, application/octet-stream."""
    if job.archive is None:
        return jresp(404, MSG_NOT_FOUND)
    if c.st.config.get("object_storage"):
        return storage_redirect(c, job)
    return ranged(c, "archive", Resp(200, job.archive.data, "application/octet-stream", [
        ("Content-Disposition", archives.rails_attachment(archives.ARCHIVE_NAME)),
        ("Content-Transfer-Encoding", "binary"),
        ("Last-Modified", email.utils.formatdate(job.finished_at or job.created_at or 0, usegmt=True))]))


def file_answer(c, job, sniff):
    """One file of the archive as Workhorse sends it: its type from its name (by job id) or
    from its bytes (by ref), as an attachment; a path not in the archive: Go's 404."""
    if c.artifact_path is None:
        return jresp(400, MSG_400)
    entry = job.archive.file(c.artifact_path)
    if entry is None:
        return Resp(404, b"404 page not found\n", "text/plain; charset=utf-8")
    if c.st.config.get("object_storage_files"):
        return storage_redirect(c, job, c.artifact_path)
    ctype = archives.sniffed_type(entry.content[0:512]) if sniff else archives.type_by_extension(c.artifact_path)
    return ranged(c, "file", Resp(200, entry.content, ctype, [
        ("Content-Disposition", archives.workhorse_attachment(c.artifact_path))]))


def answer_artifacts(c):
    return archive_answer(c, c.job)


def answer_artifacts_by_ref(c):
    return archive_answer(c, c.job)


def answer_artifact_file(c):
    if c.job.archive is None:
        return jresp(404, MSG_NOT_FOUND)
    return file_answer(c, c.job, False)


def answer_artifact_by_ref(c):
    return file_answer(c, c.job, True)


def answer_keep_artifacts(c):
    if c.job.archive is None:
        return jresp(404, MSG_NOT_FOUND)
    c.store.keep_artifacts(c.job)
    return jresp(200, c.render(c.job))


def answer_delete_artifacts(c):
    c.store.remove_artifacts(c.job)
    return Resp(204, b"", None)


def answer_delete_project_artifacts(c):
    c.store.delete_project_artifacts(c.project.id, c.st.config.get("keep_latest_artifacts", True))
    return jresp(202, {"message": "202 Accepted"})


def answer_retry(c):
    if not c.store.retryable(c.job):
        return jresp(403, {"message": forbidden_msg(c.st, "Job is not retryable")})
    return jresp(201, c.render(c.store.retry(c.job)))


def answer_erase(c):
    if not c.store.erasable(c.job):
        return jresp(403, {"message": forbidden_msg(c.st, "Job is not erasable!")})
    c.store.erase(c.job)
    return jresp(201, c.render(c.job))


def answer_play(c):
    if c.job.status != "manual":
        return jresp(400, {"message": "400 Bad request - Unplayable Job"})
    c.store.play(c.job, c.variables)
    return jresp(200, c.render(c.job))


def forbidden_msg(st, text):
    sep = "  - " if st.config.get("legacy_messages") else " - "
    return "403 Forbidden" + sep + text


def _www_auth_expired():
    return ('Bearer realm="Protected by OAuth 2.0", error="invalid_token", '
            'error_description="Token is expired. You can either do re-authorization or token refresh."')


def list_project_jobs(c):
    store = c.store
    cfg = c.st.config
    pairs = c.pairs
    ctx = c.ctx
    keyset = last(pairs, "pagination") == "keyset" and cfg.get("keyset") != "ignored"
    items = store.project_builds(c.project.id)
    if c.scopes is not None:
        items = [j for j in items if j.status in c.scopes]
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
        return jresp(200, [c.render(j) for j in rows], headers)
    if c.sort == "asc":
        items = items[::-1]
    limit = int(cfg.get("offset_limit") or 0)
    if limit > 0 and page_param(pairs) * clamp_per_page(pairs) > limit:
        return jresp(405, {"error": "Offset pagination has a maximum allowed offset of %d for requests that "
                                    "return objects of type Ci::Build. Remaining records can be retrieved "
                                    "using keyset pagination." % limit})
    return offset_list(c, items, route_params, bool(cfg.get("list_totals")))


def offset_list(c, items, route_params, totals):
    page = page_param(c.pairs)
    per = clamp_per_page(c.pairs)
    start = (page - 1) * per
    rows = items[start:start + per]
    has_next = len(items) > start + per
    headers = offset_headers(c.ctx, c.pairs, route_params, page, per, len(items), has_next, totals)
    return jresp(200, [c.render(j) for j in rows], headers)


ROUTES = {
    "job": Route("job", answer_job),
    "allowed_agents": Route("job", answer_allowed_agents),
    "user": Route("user", answer_user),
    "version": Route("user", answer_version),
    "project": Route("any", answer_project, needs="project"),
    "jobs": Route("any", list_project_jobs, (check_scope, check_pages, check_order), "project"),
    "pipeline": Route("any", answer_pipeline, (check_pipeline_id,), "pipeline"),
    "pipeline_jobs": Route("any", answer_pipeline_jobs,
                           (check_pipeline_id, check_scope, check_include_retried, check_pages), "pipeline"),
    "pipeline_bridges": Route("any", answer_pipeline_bridges, (check_pipeline_id, check_scope, check_pages),
                              "pipeline"),
    "job_get": Route("any", answer_job_get, (check_job_id,), "job"),
    "trace": Route("any", answer_trace, (check_job_id,), "job"),
    "cancel": Route("any", answer_cancel, (check_job_id, check_force), "job"),
    "retry": Route("any", answer_retry, (check_job_id,), "job"),
    "erase": Route("any", answer_erase, (check_job_id,), "job"),
    "play": Route("any", answer_play, (check_job_id, check_variables), "job_or_bridge"),
    "artifacts": Route("any", answer_artifacts, (check_job_id,), "job"),
    "artifact_file": Route("any", answer_artifact_file, (check_job_id, check_artifact_path), "job"),
    "artifacts_by_ref": Route("any", answer_artifacts_by_ref, (check_job_name,), "ref_build"),
    "artifact_by_ref": Route("any", answer_artifact_by_ref, (check_job_name, check_artifact_path), "ref_build"),
    "keep_artifacts": Route("any", answer_keep_artifacts, (check_job_id,), "job"),
    "delete_artifacts": Route("any", answer_delete_artifacts, (check_job_id,), "job"),
    "delete_project_artifacts": Route("any", answer_delete_project_artifacts, (), "project"),
}


# --------------------------------------------------------------------------
# Control API
# --------------------------------------------------------------------------

def validate_config(data):
    if not isinstance(data, dict):
        return "config must be a JSON object"
    for k, v in data.items():
        if k not in DEFAULT_CONFIG:
            return "unknown config key %r (known: %s)" % (k, ", ".join(sorted(DEFAULT_CONFIG)))
        if k in ("list_totals", "cancel_to_canceling", "legacy_messages", "legacy_scopes", "object_storage",
                 "object_storage_files", "keep_latest_artifacts") and not isinstance(v, bool):
            return "%s must be a boolean" % k
        if k == "storage_url_expires" and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            return "storage_url_expires must be a non-negative integer (seconds)"
        if k == "ranges" and (not isinstance(v, dict) or set(v) - set(RANGE_FAMILIES)
                              or not all(isinstance(x, bool) for x in v.values())):
            return "ranges must be {NAME: bool, ...} with NAME among %s" % ", ".join(RANGE_FAMILIES)
        if k == "keyset" and v not in ("supported", "ignored", "refused"):
            return "keyset must be supported, ignored or refused"
        if k == "link_base" and v is not None and (not isinstance(v, str) or "://" not in v):
            return "link_base must be null or an absolute URL such as http://host:port[/prefix]"
        if k == "latency" and (not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 60):
            return "latency must be a number of seconds from 0 to 60"
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
    f["listener"] = str(f.get("listener", "*"))
    if f["listener"] not in ("*", "api") + LISTENERS:
        raise ValueError("listener must be *, api (primary and secondary), primary, secondary or storage")
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
        self.header_override = None
        self.api_headers = self.server.name != "storage"
        self.server_header = "nginx" if self.api_headers else "AmazonS3"

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
        override = self.header_override
        if override and any(k.lower() in FRAMING_HEADERS for k in override):
            # the framing may now lie: closing the connection is the only end the client can trust
            self.close_connection = True
        hs = [("Server", self.server_header), ("Date", email.utils.formatdate(usegmt=True))] + list(headers)
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
        hs = [("Content-Type", resp.ctype)] if resp.ctype is not None else []
        if api and self.api_headers:
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
        # a 204 says nothing of a length (RFC 9110); one a fault fills keeps its framing
        length = None if resp.status == 204 and not len(body) else len(body)
        head = self.head_bytes(resp.status, self.resp_headers(resp, api), length)
        if self.command == "HEAD":
            self.wfile.write(head)
        else:
            self.write_head_body(head, body, len(body))

    def write_head_body(self, head, body, end):
        """head, then body up to end: in one write when small, else streamed in 1 MiB pieces
        (a Body is never held whole)."""
        if end <= 65536:
            self.wfile.write(head + (body[:end] if isinstance(body, bytes) else bytes(body[0:end])))
            return
        self.wfile.write(head)
        for piece in archives.iter_body(body, 0, end):
            self.wfile.write(piece)

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
        self.header_override = None
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
            if self.server.name == "storage":
                self.storage_request(raw_path, query, body)
            elif raw_path == "/__control" or raw_path.startswith("/__control/"):
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

    def new_entry(self, raw_path, query, pairs, hdrs, body):
        """The request log's record of this request (its status is filled in when sent)."""
        params = {}
        for k, v in pairs:
            params.setdefault(k, []).append(v)
        try:
            parsed = json.loads(body.decode("utf-8")) if body.strip() else None
        except (ValueError, UnicodeDecodeError):
            parsed = None
        return {
            "method": self.command,
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

    def storage_request(self, raw_path, query, body):
        """A request to the storage listener: recorded and faulted like an API request, never
        rate limited; answered as the bucket would (storage.py)."""
        st = self.server.state
        pairs = parse_qsl(query, keep_blank_values=True)
        hdrs = self.header_dict()
        entry = self.new_entry(raw_path, query, pairs, hdrs, body)
        with st.lock:
            st.requests.append(entry)
            st.storage_requests += 1
            fault = st.take_fault(self.command, raw_path, "storage")
            if fault:
                entry["fault"] = fault["kind"]

        def real():
            with st.lock:
                status, ctype, out, headers = storage.answer(st.store, self.command, raw_path, pairs, hdrs,
                                                             time.time(), st.ranges("storage"))
            return Resp(status, out, ctype, headers)

        if fault:
            self.apply_fault(fault, entry, real)
            return
        resp = real()
        entry["status"] = resp.status
        self.emit(resp)

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
               "sub": raw_sub, "query": query, "method": method}
        entry = self.new_entry(raw_path, query, pairs, hdrs, body)
        with st.lock:
            st.requests.append(entry)
            st.api_requests += 1
            st.api_conn_ids.add(self.conn_id)
            fault = st.take_fault(method, raw_sub, self.server.name)
            rl = None if fault else st.rate_limit_tick()
            if fault:
                entry["fault"] = fault["kind"]
            latency = st.config["latency"]
        if latency:
            # a slow server: every answer (faulted ones too) waits, other requests go on meanwhile
            time.sleep(latency)

        def real():
            return api_response(st, method, raw_sub, pairs, hdrs, body, ctx)

        if fault:
            self.apply_fault(fault, entry, real)
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

    def apply_fault(self, f, entry, real):
        resp = real() if f["kind"] in FAULTS_NEEDING_REAL or f.get("apply") else None
        self.header_override = f.get("headers")
        FAULT_ANSWERS[f["kind"]](self, f, resp, entry)

    def record_status(self, entry, status):
        with self.server.state.lock:
            entry["status"] = status

    def send(self, entry, resp, api=True):
        self.record_status(entry, resp.status)
        self.emit(resp, api)

    def fault_status(self, f, resp, entry):
        status = int(f.get("status", 500))
        body = f.get("body")
        if body is None:
            body = jdump(MSG_429_ENDPOINT if status == 429 else {"message": "%d %s" % (status, reason_of(status))})
        elif not isinstance(body, str):
            body = jdump(body)
        else:
            body = body.encode("utf-8")
        self.send(entry, Resp(status, body))

    def fault_html(self, f, resp, entry):
        status = int(f.get("status", 502))
        phrase = "%d %s" % (status, reason_of(status))
        page = ("<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n"
                "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n" % (phrase, phrase))
        self.send(entry, Resp(status, f.get("body", page).encode("utf-8"), "text/html"), api=False)

    def fault_reset(self, f, resp, entry):
        self.rst()

    def fault_reset_mid_body(self, f, resp, entry):
        self.record_status(entry, resp.status)
        head = self.head_bytes(resp.status, self.resp_headers(resp), len(resp.body))
        cut = min(len(resp.body), int(f.get("bytes", len(resp.body) // 2)))
        self.write_head_body(head, resp.body, cut)
        time.sleep(0.05)
        self.rst()

    def fault_stall(self, f, resp, entry):
        st = self.server.state
        self.close_connection = True
        deadline = time.time() + float(f.get("delay", 30))
        while time.time() < deadline and not st.stop.is_set():
            time.sleep(min(0.1, max(0.0, deadline - time.time())))

    def fault_truncate(self, f, resp, entry):
        self.close_connection = True
        self.record_status(entry, resp.status)
        body = resp.body
        cut = int(f.get("bytes", len(body) // 2))
        if cut >= len(body) and len(body):
            cut = len(body) - 1
        head = self.head_bytes(resp.status, self.resp_headers(resp), len(body) if len(body) else 100)
        self.write_head_body(head, body, max(0, min(cut, len(body))))

    def fault_bad_json(self, f, resp, entry):
        body = f.get("body", '[{"id":1001,"name":"compile","status":')
        self.send(entry, Resp(int(f.get("status", 200)), body.encode("utf-8")))

    def fault_not_json(self, f, resp, entry):
        body = f.get("body", "<!DOCTYPE html>\n<html><head><title>Sign in \u00b7 GitLab</title></head>"
                             "<body><h1>Sign in</h1></body></html>\n")
        self.send(entry, Resp(int(f.get("status", 200)), body.encode("utf-8"), "text/html; charset=utf-8"))

    def fault_deep_json(self, f, resp, entry):
        depth = int(f.get("depth", 100000))
        self.send(entry, Resp(200, b"[" * depth + b"]" * depth))

    def fault_drip(self, f, resp, entry):
        self.record_status(entry, resp.status)
        head = self.head_bytes(resp.status, self.resp_headers(resp), len(resp.body))
        parts = [head] if self.command == "HEAD" else itertools.chain([head], archives.iter_body(resp.body))
        chunk = max(1, int(f.get("chunk", 16)))
        delay = float(f.get("delay", 0.05))
        # the answer as one stream cut in chunk-byte pieces, delay apart
        pending = b""
        sent = False
        for part in parts:
            data = pending + bytes(part)
            i = 0
            while len(data) - i >= chunk:
                if sent:
                    time.sleep(delay)
                self.wfile.write(data[i:i + chunk])
                sent = True
                i += chunk
            pending = data[i:]
        if pending:
            if sent:
                time.sleep(delay)
            self.wfile.write(pending)

    def fault_huge_headers(self, f, resp, entry):
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
        self.send(entry, resp)

    def fault_big_body(self, f, resp, entry):
        size = max(2, int(f.get("size", 10 * 1024 * 1024)))
        status = int(f.get("status", 200))
        self.record_status(entry, status)
        self.wfile.write(self.head_bytes(status, self.resp_headers(Resp(status)), size))
        if self.command == "HEAD":
            return
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

    def fault_headers(self, f, resp, entry):
        self.send(entry, resp)

    def fault_redirect(self, f, resp, entry):
        status = int(f.get("status", 302))
        if f.get("to") in ("self", "second"):
            origin = self.server.state.urls["primary" if f["to"] == "self" else "secondary"]
            loc = origin + entry["path"] + ("?" + entry["query"] if entry["query"] else "")
        else:
            loc = str(f["location"])
        body = ('<html><body>You are being <a href="%s">redirected</a>.</body></html>' % loc).encode()
        self.send(entry, Resp(status, body, "text/html; charset=utf-8", [("Location", loc)]))

    # ---- control -------------------------------------------------------

    def control(self, raw_path, query, body):
        parts = raw_path.split("/")[2:]
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError) as e:
            return self.control_fail("invalid JSON body: %s" % e)
        self.ctl_pairs = parse_qsl(query, keep_blank_values=True)
        if len(parts) >= 2 and parts[0] == "jobs":
            return self.control_job(parts, data, raw_path)
        path = "/".join(parts)
        verb = CONTROL_VERBS.get((self.command, path)) or CONTROL_VERBS.get(("*", path))
        if verb is None:
            return self.control_unknown(raw_path)
        return verb(self, data)

    def control_job(self, parts, data, raw_path):
        st = self.server.state
        if not parts[1].isdigit():
            return self.control_fail("job id must be an integer")
        rest = "/".join(parts[2:])
        verb = CONTROL_VERBS.get((self.command, "jobs/<id>" + ("/" + rest if rest else "")))
        if verb is None and self.command == "GET" and rest.startswith("artifacts/file/"):
            verb = Handler.ctl_job_file
        with st.lock:
            job = st.store.jobs.get(int(parts[1]))
            if job is None:
                return self.control_fail("no job %s" % parts[1], 404)
            if verb is None:
                return self.control_unknown(raw_path)
            # a verb answers at once, or hands back what to do once the lock is let go
            later = verb(self, job, data)
        if later is not None:
            later()

    def control_ok(self, obj, status=200):
        self.emit(jresp(status, obj), api=False)

    def control_fail(self, msg, status=400):
        self.emit(jresp(status, {"error": msg}), api=False)

    def control_unknown(self, raw_path):
        self.control_fail("unknown control route %s %s" % (self.command, raw_path), 404)

    def ctl_reset(self, data):
        self.server.state.reset()
        self.control_ok({})

    def ctl_ping(self, data):
        self.control_ok({})

    def ctl_shutdown(self, data):
        self.close_connection = True
        self.control_ok({})
        # only once the answer is out: the process exits soon after
        self.server.state.stop.set()

    def ctl_requests(self, data):
        st = self.server.state
        with st.lock:
            payload = jdump(st.requests)
        self.emit(Resp(200, payload), api=False)

    def ctl_clear_requests(self, data):
        st = self.server.state
        with st.lock:
            st.requests = []
        self.control_ok({})

    def ctl_stats(self, data):
        st = self.server.state
        with st.lock:
            self.control_ok({"connections": st.connections, "api_connections": len(st.api_conn_ids),
                             "requests": st.api_requests, "storage_requests": st.storage_requests})

    def ctl_config(self, data):
        st = self.server.state
        with st.lock:
            self.control_ok(st.config)

    def ctl_set_config(self, data):
        st = self.server.state
        err = validate_config(data)
        if err:
            return self.control_fail(err)
        with st.lock:
            if "ranges" in data:
                data = dict(data, ranges=dict(st.config["ranges"], **data["ranges"]))
            st.config.update(data)
            if "rate_limit" in data:
                st.rl_start = None
                st.rl_observed = 0
            self.control_ok(st.config)

    def ctl_faults(self, data):
        st = self.server.state
        with st.lock:
            self.control_ok(st.public_faults())

    def ctl_clear_faults(self, data):
        st = self.server.state
        with st.lock:
            st.faults = []
        self.control_ok([])

    def ctl_add_faults(self, data):
        st = self.server.state
        specs = data if isinstance(data, list) else [data]
        try:
            built = [build_fault(s) for s in specs]
        except (ValueError, TypeError) as e:
            return self.control_fail(str(e))
        with st.lock:
            st.faults.extend(built)
            self.control_ok(st.public_faults())

    # the job verbs run with the state locked

    def ctl_job(self, job, data):
        self.control_ok(self.server.state.store.internal_view(job, self.server.state.base_url()))

    def ctl_mutate_job(self, job, data):
        st = self.server.state
        err = model.validate_step(data, "mutation")
        if err:
            return self.control_fail(err)
        st.store.apply_step(job, data)
        self.control_ok(st.store.render(job, st.base_url(), st.utc_offset()))

    def ctl_job_artifacts(self, job, data):
        archive = job.archive
        view = {"job_id": job.id, "artifacts_expire_at": model.fmt_time(job.artifacts_expire_at),
                "object_key": storage.object_key(job, archive) if archive else None, "archive": None}
        if archive is None:
            return self.control_ok(view)

        def answer():  # the sums of a big archive take a while: not under the lock
            view["archive"] = archive.describe()
            self.control_ok(view)
        return answer

    def ctl_job_archive(self, job, data):
        if job.archive is None:
            return self.control_fail("job %d has no archive" % job.id, 404)
        return self.control_bytes(job.archive.data, "application/zip")

    def ctl_job_file(self, job, data):
        path = unquote(self.path.split("?", 1)[0].split("/artifacts/file/", 1)[1])
        entry = job.archive.file(path) if job.archive else None
        if entry is None:
            return self.control_fail("job %d has no file %r in an archive" % (job.id, path), 404)
        return self.control_bytes(entry.content, archives.type_by_extension(path))

    def control_bytes(self, body, ctype):
        """What answers the bytes (offset and length in the query cut them), run without the lock."""
        try:
            offset = max(0, int(last(self.ctl_pairs, "offset") or 0))
            length = last(self.ctl_pairs, "length")
            end = len(body) if length is None else min(len(body), offset + max(0, int(length)))
        except ValueError:
            return self.control_fail("offset and length must be integers")
        part = archives.Slice(body, min(offset, end), end)
        return lambda: self.emit(Resp(200, part, ctype), api=False)

    def ctl_script_job(self, job, data):
        err = script_error(data)
        if err:
            return self.control_fail(err)
        steps = data.get("steps", [])
        retries = data.get("retries", [])
        self.server.state.store.set_script(job, steps, retries)
        self.control_ok({"job_id": job.id, "steps": len(steps), "retries": len(retries)})


def script_error(data):
    """None when data is a valid job script, else what is wrong with it."""
    if not isinstance(data, dict) or set(data) - {"steps", "retries"}:
        return "script must be {\"steps\": [...], \"retries\": [[...], ...]}"
    steps = data.get("steps", [])
    retries = data.get("retries", [])
    if not isinstance(steps, list) or not isinstance(retries, list):
        return "steps and retries must be arrays"
    for i, s in enumerate(steps):
        err = model.validate_step(s, "steps[%d]" % i)
        if err:
            return err
    for k, r in enumerate(retries):
        if not isinstance(r, list):
            return "retries[%d] must be an array of steps" % k
        for i, s in enumerate(r):
            err = model.validate_step(s, "retries[%d][%d]" % (k, i))
            if err:
                return err
    return None


# (method, path under /__control/) -> the Handler method that answers; "*": any method
CONTROL_VERBS = {
    ("POST", "reset"): Handler.ctl_reset,
    ("*", "ping"): Handler.ctl_ping,
    ("POST", "shutdown"): Handler.ctl_shutdown,
    ("GET", "requests"): Handler.ctl_requests,
    ("DELETE", "requests"): Handler.ctl_clear_requests,
    ("GET", "stats"): Handler.ctl_stats,
    ("GET", "config"): Handler.ctl_config,
    ("POST", "config"): Handler.ctl_set_config,
    ("GET", "faults"): Handler.ctl_faults,
    ("DELETE", "faults"): Handler.ctl_clear_faults,
    ("POST", "faults"): Handler.ctl_add_faults,
    # a job's verbs, the job given to the method
    ("GET", "jobs/<id>"): Handler.ctl_job,
    ("POST", "jobs/<id>"): Handler.ctl_mutate_job,
    ("POST", "jobs/<id>/script"): Handler.ctl_script_job,
    ("GET", "jobs/<id>/artifacts"): Handler.ctl_job_artifacts,
    ("GET", "jobs/<id>/artifacts/archive"): Handler.ctl_job_archive,
}

# kind -> the Handler method that answers with that fault
FAULT_ANSWERS = {
    "status": Handler.fault_status,
    "html": Handler.fault_html,
    "reset": Handler.fault_reset,
    "reset_mid_body": Handler.fault_reset_mid_body,
    "stall": Handler.fault_stall,
    "truncate": Handler.fault_truncate,
    "bad_json": Handler.fault_bad_json,
    "not_json": Handler.fault_not_json,
    "deep_json": Handler.fault_deep_json,
    "drip": Handler.fault_drip,
    "huge_headers": Handler.fault_huge_headers,
    "big_body": Handler.fault_big_body,
    "redirect": Handler.fault_redirect,
    "headers": Handler.fault_headers,
}
assert set(FAULT_ANSWERS) == set(FAULT_KINDS)


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
        fh.write("".join(u + "\n" for u in urls))
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake GitLab Jobs API server for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="primary port (default: OS-picked)")
    ap.add_argument("--port2", type=int, default=0, help="secondary port (default: OS-picked)")
    ap.add_argument("--port3", type=int, default=0, help="storage port (default: OS-picked)")
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
    listeners = [Listener((args.host, port), state, name, ctx)
                 for name, port in zip(LISTENERS, (args.port, args.port2, args.port3))]
    scheme = "https" if ctx else "http"
    host = args.host if ":" not in args.host else "[%s]" % args.host
    urls = ["%s://%s:%d" % (scheme, host, s.server_address[1]) for s in listeners]
    state.urls.update(zip(LISTENERS, urls))

    for s in listeners:
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
    sys.stdout.write("READY %s\n" % " ".join(urls))
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

    for s in listeners:
        s.shutdown()
        s.server_close()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
