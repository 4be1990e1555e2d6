#!/usr/bin/env python3
"""Self-test of the fake GitLab server (standard library only).

    python3 spec/fake_gitlab/selftest.py [-v]

Starts server.py as a subprocess, checks routes, headers, control API and
faults, and prints 'N passed, N failed'. Exits non-zero on any failure.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
sys.path.insert(0, HERE)
import selftest_artifacts  # noqa: E402
import selftest_scale  # noqa: E402
VERBOSE = "-v" in sys.argv

TOKEN = {"PRIVATE-TOKEN": "glpat-valid-token"}
P1 = "/api/v4/projects/1"
P1PATH = "/api/v4/projects/acme%2Fplatform%2Fapi"

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        if VERBOSE:
            print("ok   " + name)
    else:
        failed += 1
        print("FAIL " + name + ((" -- " + str(detail)[:600]) if detail != "" else ""))


def start_server(*extra):
    p = subprocess.Popen([sys.executable, SERVER, "--parent-pid", str(os.getpid())] + list(extra),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    assert line and line[0] == "READY" and len(line) == 4, line
    return p, line[1], line[2], line[3]


class Client:
    def __init__(self, url, timeout=60, context=None):
        u = urllib.parse.urlsplit(url)
        self.url = url
        self.host = u.hostname
        self.port = u.port
        self.https = u.scheme == "https"
        self.timeout = timeout
        self.context = context
        self.conn = None

    def _conn(self):
        if self.conn is None:
            if self.https:
                self.conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                        context=self.context)
            else:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def req(self, method, path, headers=None, body=None, token=TOKEN):
        h = dict(token or {})
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c = self._conn()
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
        except Exception:
            self.close()
            raise
        hs = {k.lower(): v for k, v in r.getheaders()}
        if r.getheader("connection", "").lower() == "close":
            self.close()
        return r.status, hs, data

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, body=body, **kw)

    def jget(self, path, **kw):
        s, h, b = self.get(path, **kw)
        return s, h, json.loads(b) if b else None

    def jpost(self, path, body=None, **kw):
        s, h, b = self.post(path, body, **kw)
        return s, h, json.loads(b) if b else None

    def control(self, method, path, body=None):
        s, h, b = self.req(method, "/__control/" + path, body=body, token=None)
        return s, json.loads(b)


def raw(url, request_bytes, timeout=60):
    """Send raw bytes, read until close or timeout. -> (bytes, error or None)."""
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    out = b""
    err = None
    try:
        s.sendall(request_bytes)
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except Exception as e:
        err = e
    finally:
        s.close()
    return out, err


def raw_get(url, path, extra=""):
    u = urllib.parse.urlsplit(url)
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nPRIVATE-TOKEN: glpat-valid-token\r\n%s"
           "Connection: close\r\n\r\n" % (path, u.hostname, u.port, extra))
    return raw(url, req.encode())


ANY = object()  # an answer body not looked at
JOB_TOKEN = {"JOB-TOKEN": "job-token-running"}
MSG_401 = {"message": "401 Unauthorized"}
MSG_PROJECT_404 = {"message": "404 Project Not Found"}
MSG_ROUTE_404 = {"error": "404 Not Found"}
MSG_NOT_FOUND_LC = {"message": "404 Not found"}

# (name, method, path, token headers, status, JSON body or ANY)
AUTH_ANSWERS = [
    ("no token 401", "GET", P1 + "/jobs", None, 401, MSG_401),
    ("unknown token 401", "GET", P1 + "/jobs", {"PRIVATE-TOKEN": "nope"}, 401, MSG_401),
    ("expired token 401", "GET", P1 + "/jobs", {"PRIVATE-TOKEN": "glpat-expired"}, 401, {
        "error": "invalid_token",
        "error_description": "Token is expired. You can either do re-authorization or token refresh."}),
    ("readonly GET 200", "GET", P1 + "/jobs", {"PRIVATE-TOKEN": "glpat-readonly"}, 200, ANY),
    ("readonly POST 403 insufficient_scope", "POST", P1 + "/jobs/1016/cancel", {"PRIVATE-TOKEN": "glpat-readonly"},
     403, {"error": "insufficient_scope", "scope": "api", "error_description":
           "The request requires higher privileges than provided by the access token."}),
    ("oauth bearer 200", "GET", P1 + "/jobs", {"Authorization": "Bearer oauth-valid-token"}, 200, ANY),
    ("PAT as bearer 200", "GET", P1 + "/jobs", {"Authorization": "Bearer glpat-valid-token"}, 200, ANY),
    ("private_token query 200", "GET", P1 + "/jobs?private_token=glpat-valid-token", None, 200, ANY),
    ("access_token query 200", "GET", P1 + "/jobs?access_token=oauth-valid-token", None, 200, ANY),
    ("GET /job with PAT -> 404", "GET", "/api/v4/job", TOKEN, 404, {"message": "404 Not Found"}),
    ("GET /job/allowed_agents with oauth -> 404", "GET", "/api/v4/job/allowed_agents",
     {"Authorization": "Bearer oauth-valid-token"}, 404, {"message": "404 Not Found"}),
    ("GET /job without token -> 401", "GET", "/api/v4/job", None, 401, MSG_401),
    ("GET /job bogus job token -> 401", "GET", "/api/v4/job", {"JOB-TOKEN": "bogus"}, 401, MSG_401),
    ("job token other project 404", "GET", "/api/v4/projects/2/jobs", JOB_TOKEN, 404, MSG_PROJECT_404),
    ("job token POST 403", "POST", P1 + "/jobs/1016/cancel", JOB_TOKEN, 403, {"message": "403 Forbidden"}),
]

NOT_FOUND_ANSWERS = [
    ("raw slash 404 route", "GET", "/api/v4/projects/acme/platform/api/jobs", TOKEN, 404, MSG_ROUTE_404),
    ("unknown project", "GET", "/api/v4/projects/999/jobs", TOKEN, 404, MSG_PROJECT_404),
    ("path without slash", "GET", "/api/v4/projects/api/jobs", TOKEN, 404, MSG_PROJECT_404),
] + [("project 5 invisible " + p, "GET", p, TOKEN, 404, MSG_PROJECT_404)
     for p in ("/api/v4/projects/5/jobs", "/api/v4/projects/other%2Fsecret/jobs", "/api/v4/projects/5")] + [
    ("unknown route", "GET", "/api/v4/nothing/here", TOKEN, 404, MSG_ROUTE_404),
    ("unknown route without token", "GET", "/api/v4/nothing/here", None, 404, MSG_ROUTE_404),
    ("POST on GET route -> 404", "POST", P1 + "/jobs", TOKEN, 404, MSG_ROUTE_404),
    ("non-int job id", "GET", P1 + "/jobs/abc", TOKEN, 400, {"error": "job_id is invalid"}),
    ("non-int job id POST", "POST", P1 + "/jobs/abc/retry", TOKEN, 400, {"error": "job_id is invalid"}),
    ("non-int pipeline id", "GET", P1 + "/pipelines/x1/jobs", TOKEN, 400, {"error": "pipeline_id is invalid"}),
    ("unknown job", "GET", P1 + "/jobs/424242", TOKEN, 404, MSG_NOT_FOUND_LC),
    ("job of another project", "GET", P1 + "/jobs/20001", TOKEN, 404, MSG_NOT_FOUND_LC),
    ("bridge is not a job", "GET", P1 + "/jobs/1023", TOKEN, 404, MSG_NOT_FOUND_LC),
    ("unknown pipeline", "GET", P1 + "/pipelines/999/jobs", TOKEN, 404, MSG_NOT_FOUND_LC),
    ("pipeline of another project", "GET", P1 + "/pipelines/201/bridges", TOKEN, 404, MSG_NOT_FOUND_LC),
    ("debug trace 403", "GET", P1 + "/jobs/1015/trace", TOKEN, 403, {"message": "403 Forbidden"}),
]


def check_answers(c, cases):
    """Each case's request gets that status and (unless ANY) exactly that JSON body."""
    for name, method, path, token, status, want in cases:
        s, h, b = c.req(method, path, token=token)
        body = json.loads(b) if b else None
        check(name, s == status and (want is ANY or body == want), (s, body))


def ids(rows):
    return [r["id"] for r in rows]


def run_main(primary, secondary):
    c = Client(primary)
    c2 = Client(secondary)
    ctl = Client(primary)

    # ---------------- basic routes ----------------
    s, h, body = c.jget(P1)
    check("GET /projects/1", s == 200 and body["path_with_namespace"] == "acme/platform/api", body)
    s, h, body = c.jget("/api/v4/user")
    check("GET /user", s == 200 and body["username"] == "root" and body["id"] == 1, body)
    s, h, body = c.jget("/api/v4/version")
    check("GET /version", s == 200 and "version" in body)

    # ---------------- auth, job token, ids and 404s: status and whole body ----------------
    check_answers(c, AUTH_ANSWERS)
    for name, tok, q in (("JOB-TOKEN header", JOB_TOKEN, ""),
                         ("job_token query", None, "?job_token=job-token-running"),
                         ("Bearer job token", {"Authorization": "Bearer job-token-running"}, "")):
        s, h, body = c.jget("/api/v4/job" + q, token=tok)
        check("GET /job via " + name, s == 200 and body["id"] == 1012 and body["status"] == "running",
              (s, body))
    s, h, body = c.jget("/api/v4/job/allowed_agents", token=JOB_TOKEN)
    check("GET /job/allowed_agents", s == 200 and body["job"]["id"] == 1012
          and body["allowed_agents"][0]["config_project"]["id"] == 1
          and body["pipeline"]["id"] == 101 and body["project"]["id"] == 1 and body["user"]["id"] == 1,
          (s, body))
    s, h, body = c.jget(P1 + "/jobs/1008", token=JOB_TOKEN)
    check("job token GET own project", s == 200 and body["id"] == 1008, s)
    for p in (P1PATH, "/api/v4/projects/acme%2fplatform%2fapi", "/api/v4/projects/ACME%2FPlatform%2FAPI"):
        s, h, body = c.jget(p + "/jobs/1008")
        check("project id form " + p, s == 200 and body["id"] == 1008, s)
    check_answers(c, NOT_FOUND_ANSWERS)

    # ---------------- job shape ----------------
    s, h, j = c.jget(P1 + "/jobs/1009")
    check("job content-type json", h["content-type"] == "application/json", h)
    check("failed job shape", j["status"] == "failed" and j["failure_reason"] == "script_failure"
          and j["pipeline"] == {"id": 101, "project_id": 1, "ref": "main",
                                "sha": "9d2f4a1c8e7b6053a1d4c7e2b9f80613d5a7c2e4", "status": "running"}
          and j["coverage"] is None and j["erased_at"] is None and j["tag"] is False
          and j["web_url"].endswith("/acme/platform/api/-/jobs/1009") and j["runner"]["id"] == 7
          and j["user"]["username"] == "root" and j["commit"]["short_id"] == "9d2f4a1c"
          and j["created_at"].endswith("Z") and "artifacts_file" not in j, j)
    s, h, j = c.jget(P1 + "/jobs/1008")
    check("success job has no failure_reason", "failure_reason" not in j and j["artifacts_file"]["filename"]
          == "artifacts.zip", j)
    s, h, j = c.jget(P1 + "/jobs/1016")
    check("pending job nulls", j["started_at"] is None and j["finished_at"] is None and j["duration"] is None
          and j["runner"] is None, j)
    s, h, j = c.jget(P1 + "/jobs/1002")
    check("tag pipeline job", j["tag"] is True and j["ref"] == "v1.2.0" and j["pipeline"]["id"] == 102, j)

    # ---------------- scope ----------------
    s, h, body = c.jget(P1 + "/jobs?scope=bogus")
    check("bad scope", s == 400 and body == {"error": "scope does not have a valid value"}, (s, body))
    s, h, body = c.jget(P1 + "/jobs?scope[]=failed&scope[]=bogus")
    check("bad scope in array", s == 400, s)
    s, h, body = c.jget(P1 + "/jobs?scope=failed")
    check("scope=failed", s == 200 and ids(body) == [1010, 1009, 1006, 1004], ids(body))
    s, h, body = c.jget(P1 + "/jobs?scope[]=manual&scope[]=running&scope[]=canceling")
    check("scope array", ids(body) == [1021, 1013, 1012], ids(body))
    for st in ("created", "waiting_for_resource", "preparing", "waiting_for_callback", "pending", "running",
               "success", "failed", "canceling", "canceled", "skipped", "manual", "scheduled"):
        s, h, body = c.jget(P1 + "/pipelines/101/jobs?scope=" + st)
        check("pipeline 101 has a %s job" % st, s == 200 and len(body) >= 1 and all(
            r["status"] == st for r in body), (s, body and ids(body)))

    # ---------------- offset pagination ----------------
    s, h, body = c.jget(P1 + "/jobs")
    check("project 1 list default", s == 200 and len(body) == 20 and ids(body) == sorted(ids(body), reverse=True)
          and h["x-page"] == "1" and h["x-per-page"] == "20" and h["x-next-page"] == "2"
          and h["x-prev-page"] == "" and "x-total" not in h and "x-total-pages" not in h, h)
    check("Link absolute, no last", h["link"].startswith("<" + primary + P1 + "/jobs?") and 'rel="next"' in h["link"]
          and 'rel="first"' in h["link"] and 'rel="last"' not in h["link"], h.get("link"))
    s, h, body = c.jget(P1 + "/jobs?page=2")
    check("project 1 page 2", len(body) == 2 and ids(body) == [1002, 1001] and h["x-next-page"] == ""
          and h["x-prev-page"] == "1" and 'rel="prev"' in h["link"], (ids(body), h))
    s, h, body = c.jget(P1 + "/jobs?page=9")
    check("page beyond end", body == [] and h["x-next-page"] == "" and h["x-prev-page"] == "", h)
    s, h, body = c.jget(P1 + "/jobs?per_page=500")
    check("per_page clamp", h["x-per-page"] == "100" and len(body) == 22, (h["x-per-page"], len(body)))
    s, h, body = c.jget(P1 + "/jobs?per_page=0")
    check("per_page 0 -> 20", h["x-per-page"] == "20", h["x-per-page"])
    s, h, body = c.jget(P1 + "/jobs?per_page=x")
    check("per_page invalid", s == 400 and body == {"error": "per_page is invalid"}, (s, body))
    s, h, body = c.jget(P1 + "/jobs?page=x")
    check("page invalid", s == 400 and body == {"error": "page is invalid"}, (s, body))
    ctl.control("POST", "config", {"list_totals": True})
    s, h, body = c.jget(P1 + "/jobs?per_page=5&scope=success")
    check("list_totals on", h.get("x-total") == "7" and h.get("x-total-pages") == "2" and 'rel="last"' in h["link"], h)
    s, h, body = c.jget("/api/v4/projects/4/jobs?per_page=100")
    check("project 4 totals omitted >10000", "x-total" not in h and h["x-next-page"] == "2"
          and body[0]["id"] == 40050, (h, body and body[0]["id"]))
    ctl.control("POST", "config", {"list_totals": False})
    s, h, body = c.jget("/api/v4/projects/4/jobs?per_page=100&page=101")
    check("project 4 last page", len(body) == 50 and body[-1]["id"] == 30001 and h["x-next-page"] == "", (len(body), h))
    s, h, body = c.jget("/api/v4/projects/4/jobs?per_page=100&page=100")
    check("project 4 page 100 (beyond 10000 rows)", len(body) == 100 and h["x-next-page"] == "101", h)
    s, h, body = c.jget(P1 + "/pipelines/101/jobs")
    check("pipeline jobs totals", h.get("x-total") == "18" and h.get("x-total-pages") == "1"
          and 1004 not in ids(body) and 1023 not in ids(body) and 'rel="last"' in h["link"], (h, ids(body)))
    s, h, body = c.jget(P1 + "/pipelines/101/jobs?include_retried=true")
    check("include_retried", h.get("x-total") == "19" and 1004 in ids(body), (h.get("x-total"), ids(body)))
    s, h, body = c.jget(P1 + "/pipelines/101/jobs?include_retried=maybe")
    check("include_retried invalid", s == 400 and body == {"error": "include_retried is invalid"}, (s, body))
    s, h, body = c.jget(P1 + "/pipelines/102/jobs")
    check("pipeline 102", ids(body) == [1003, 1002, 1001] and all(r["status"] == "success" for r in body), ids(body))
    s, h, body = c.jget("/api/v4/projects/2/pipelines/214/jobs?per_page=10&page=2")
    check("monorepo pipeline page", h["x-total"] == "25" and h["x-total-pages"] == "3" and len(body) == 10, h)
    s, h, body = c.jget("/api/v4/projects/2/jobs?per_page=100&page=4")
    check("monorepo page 4", len(body) == 50 and body[-1]["id"] == 20001, len(body))
    # Link follows Host header
    s, h, body = c.jget(P1 + "/jobs", headers={"Host": "gitlab.test:8443"})
    check("Link uses Host header", "<http://gitlab.test:8443/api/v4/projects/1/jobs?" in h["link"], h["link"])

    # ---------------- keyset ----------------
    url = "/api/v4/projects/2/jobs?pagination=keyset&per_page=100&scope[]=success&scope[]=failed"
    seen = []
    pages = 0
    last_h = None
    while url and pages < 10:
        s, h, body = c.jget(url)
        pages += 1
        seen += ids(body)
        last_h = h
        link = h.get("link", "")
        url = None
        if 'rel="next"' in link:
            full = link.split("<", 1)[1].split(">", 1)[0]
            check("keyset link absolute", full.startswith(primary), full)
            url = full[len(primary):]
            check("keyset link params", "pagination=keyset" in url and "per_page=100" in url
                  and "cursor=" in url and "scope%5B%5D=success" in url, url)
    s, h, allrows = c.jget("/api/v4/projects/2/jobs?per_page=100&scope[]=success&scope[]=failed")
    check("keyset walks all rows", seen == sorted(set(seen), reverse=True) and len(seen) > 250, len(seen))
    check("keyset no offset headers", "x-next-page" not in last_h and "x-total" not in last_h, last_h)
    s, h, body = c.jget("/api/v4/projects/2/jobs?pagination=keyset&order_by=created_at")
    check("keyset bad order 405", s == 405 and body == {
        "error": "Keyset pagination is not yet available for this type of request"}, (s, body))
    ctl.control("POST", "config", {"keyset": "ignored"})
    s, h, body = c.jget("/api/v4/projects/2/jobs?pagination=keyset")
    check("keyset ignored -> offset", s == 200 and h.get("x-next-page") == "2", h)
    ctl.control("POST", "config", {"keyset": "refused"})
    s, h, body = c.jget("/api/v4/projects/2/jobs?pagination=keyset")
    check("keyset refused", s == 405, s)
    ctl.control("POST", "config", {"keyset": "supported", "offset_limit": 200})
    s, h, body = c.jget("/api/v4/projects/2/jobs?page=3&per_page=100")
    check("offset_limit 405", s == 405 and "maximum allowed offset of 200" in body["error"], (s, body))
    ctl.control("POST", "config", {"offset_limit": 0})

    # ---------------- bridges ----------------
    s, h, body = c.jget(P1 + "/pipelines/101/bridges")
    check("bridges", s == 200 and ids(body) == [1024, 1023] and body[1]["downstream_pipeline"]["id"] == 9001
          and body[0]["downstream_pipeline"] is None and "runner" not in body[0] and "artifacts" not in body[0]
          and body[0]["status"] == "manual" and h["x-total"] == "2", body)
    s, h, body = c.jget(P1 + "/pipelines/101/bridges?scope=success")
    check("bridges scope", ids(body) == [1023], ids(body))

    # ---------------- traces ----------------
    s, h, b = c.get(P1 + "/jobs/1008/trace")
    check("trace ansi/sections", s == 200 and h["content-type"] == "text/plain; charset=utf-8"
          and b"section_start:" in b and b"[collapsed=true]\r\x1b[0K" in b and b"section_end:" in b
          and b"\x1b[32;1m" in b and b"\rDownloading deps:  50%" in b, b[:200])
    s, h, b = c.get(P1 + "/jobs/1014/trace")
    check("trace invalid utf-8", b"\xff\xfe" in b, b[:100])
    s, h, b = c.get(P1 + "/jobs/1012/trace")
    check("running trace partial", s == 200 and b"test_case_12" in b and b"Job succeeded" not in b, b[-100:])
    s, h, b = c.get(P1 + "/jobs/1005/trace")
    check("empty trace", s == 200 and b == b"" and h["content-length"] == "0", (s, b))
    s, h, b = c.get(P1 + "/jobs/1023/trace")
    check("bridge trace 404", s == 404, s)

    # ---------------- actions ----------------
    s, h, j = c.jpost(P1 + "/jobs/1016/cancel")
    check("cancel pending", s == 201 and j["status"] == "canceled" and j["finished_at"], (s, j.get("status")))
    s, h, j = c.jpost(P1 + "/jobs/1008/cancel")
    check("cancel finished unchanged", s == 201 and j["status"] == "success", (s, j.get("status")))
    s, h, j = c.jpost(P1 + "/jobs/1009/retry")
    check("retry failed -> new job", s == 201 and j["id"] == 40051 and j["status"] == "pending"
          and j["name"] == "unit-tests" and j["pipeline"]["id"] == 101 and j["started_at"] is None, (s, j))
    s, h, body = c.jget(P1 + "/pipelines/101/jobs?per_page=100")
    check("retried job hidden", 1009 not in ids(body) and 40051 in ids(body), ids(body))
    s, h, body = c.jget(P1 + "/jobs?per_page=100")
    check("project list shows retried jobs", 1009 in ids(body) and ids(body)[0] == 40051, ids(body)[:3])
    s, h, j = c.jpost(P1 + "/jobs/1009/retry")
    check("retry retried job 403", s == 403 and j == {"message": "403 Forbidden - Job is not retryable"}, (s, j))
    s, h, j = c.jpost(P1 + "/jobs/1021/retry")
    check("retry manual 403", s == 403 and j == {"message": "403 Forbidden - Job is not retryable"}, (s, j))
    s, h, j = c.jpost(P1 + "/jobs/40051/cancel")
    check("cancel new job", s == 201 and j["status"] == "canceled", j.get("status"))
    s, h, j = c.jpost(P1 + "/jobs/40051/retry")
    check("retry canceled", s == 201 and j["id"] == 40052, j.get("id"))
    s, h, j = c.jpost(P1 + "/jobs/1008/erase")
    check("erase", s == 201 and j["erased_at"] and j["artifacts"] == [] and "artifacts_file" not in j, j)
    s, h, b = c.get(P1 + "/jobs/1008/trace")
    check("erased trace empty", s == 200 and b == b"", b[:50])
    s, h, j = c.jpost(P1 + "/jobs/1008/erase")
    check("erase twice 403", s == 403 and j == {"message": "403 Forbidden - Job is not erasable!"}, (s, j))
    s, h, j = c.jpost(P1 + "/jobs/1012/erase")
    check("erase running 403", s == 403, s)
    s, h, j = c.jpost(P1 + "/jobs/1021/play",
                      {"job_variables_attributes": [{"key": "DEPLOY_ENV", "value": "staging"}]})
    check("play manual", s == 200 and j["status"] == "pending" and j["id"] == 1021, (s, j))
    check("play: no extra fields", "variables" not in j and "job_variables_attributes" not in j, list(j))
    s, r = ctl.control("GET", "jobs/1021")
    check("play variables recorded", r["variables"] == [{"key": "DEPLOY_ENV", "value": "staging"}], r)
    s, h, j = c.jpost(P1 + "/jobs/1021/play")
    check("play non-manual 400", s == 400 and j == {"message": "400 Bad request - Unplayable Job"}, (s, j))
    s, h, j = c.jpost(P1 + "/jobs/1024/play")
    check("play manual bridge", s == 200 and j["status"] == "pending" and "downstream_pipeline" in j, (s, j))
    s, h, j = c.jpost(P1 + "/jobs/1022/play", {"job_variables_attributes": [{"value": "x"}]})
    check("play missing key 400", s == 400 and j == {"error": "job_variables_attributes[0][key] is missing"}, (s, j))
    s, h, j = c.jpost(P1 + "/jobs/1022/play")
    check("play scheduled 400", s == 400, s)
    s, h, j = c.jpost(P1 + "/jobs/1024/retry")
    check("retry bridge 404", s == 404, s)

    ctl.control("POST", "reset")
    s, h, b = c.post(P1 + "/jobs/1021/play", body="job_variables_attributes[0][key]=A&job_variables_attributes"
                     "[0][value]=1&job_variables_attributes[1][key]=B&job_variables_attributes[1][value]=two",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    s2, r = ctl.control("GET", "jobs/1021")
    check("play form variables", s == 200 and r["variables"] == [{"key": "A", "value": "1"},
                                                                  {"key": "B", "value": "two"}], (s, b, r))
    ctl.control("POST", "reset")
    s, h, b = c.post(P1 + "/jobs/1021/play", body="job_variables_attributes[][key]=A&job_variables_attributes"
                     "[][value]=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    s2, r = ctl.control("GET", "jobs/1021")
    check("play form [] variables", s == 200 and r["variables"] == [{"key": "A", "value": "1"}], r)

    # cancel -> canceling
    ctl.control("POST", "config", {"cancel_to_canceling": True})
    s, h, j = c.jpost(P1 + "/jobs/1012/cancel")
    check("cancel running -> canceling", s == 201 and j["status"] == "canceling", j.get("status"))
    s, h, j = c.jget(P1 + "/jobs/1012")
    check("canceling -> canceled on GET", j["status"] == "canceled", j.get("status"))
    s, h, j = c.jget("/api/v4/job", token={"JOB-TOKEN": "job-token-running"})
    check("job token dead after cancel", s == 401, s)
    ctl.control("POST", "reset")

    # ---------------- moved project ----------------
    s, h, b = c.get("/api/v4/projects/3/jobs?scope=failed&per_page=5")
    check("moved project 301", s == 301 and h["location"] == primary + "/api/v4/projects/1/jobs?scope=failed&per_page=5"
          and json.loads(b) == {"message": "301 Moved Permanently"}, (s, h.get("location"), b))
    s, h, b = c.get("/api/v4/projects/acme%2Fplatform%2Fold-api/jobs/1008")
    check("moved project by path 301", s == 301 and h["location"] == primary + "/api/v4/projects/1/jobs/1008", h)
    s, h, b = c2.get("/api/v4/projects/3")
    check("moved project on secondary", s == 301 and h["location"] == secondary + "/api/v4/projects/1", h)
    s, h, j = c.jpost("/api/v4/projects/3/jobs/1009/retry")
    check("moved project POST 405", s == 405 and j == {"message": "405 Method Not Allowed"}, (s, j))

    # ---------------- secondary listener ----------------
    s, h, j = c2.jget(P1 + "/jobs/1008")
    check("secondary serves same data", s == 200 and j["id"] == 1008, s)

    # ---------------- control: requests, stats, mutations ----------------
    ctl.control("POST", "reset")
    k = Client(primary)
    for _ in range(5):
        k.get(P1PATH + "/jobs?scope[]=failed&per_page=3", headers={"X-Test": "yes"})
    k.post(P1 + "/jobs/1021/play", body={"job_variables_attributes": [{"key": "K", "value": "V"}]})
    k.close()
    s, st = ctl.control("GET", "stats")
    check("stats keep-alive", st["api_connections"] == 1 and st["requests"] == 6, st)
    s, log = ctl.control("GET", "requests")
    e = log[0]
    check("request log entry", len(log) == 6 and e["method"] == "GET"
          and e["path"] == "/api/v4/projects/acme%2Fplatform%2Fapi/jobs"
          and e["query"] == "scope[]=failed&per_page=3" and e["params"] == {"scope[]": ["failed"], "per_page": ["3"]}
          and e["headers"]["x-test"] == "yes" and e["headers"]["private-token"] == "glpat-valid-token"
          and e["body"] == "" and e["json"] is None and e["fault"] is None and e["status"] == 200, e)
    check("request log POST json", log[5]["json"] == {"job_variables_attributes": [{"key": "K", "value": "V"}]}
          and log[5]["status"] == 200, log[5])
    ctl.control("DELETE", "requests")
    s, log = ctl.control("GET", "requests")
    check("requests cleared; control not recorded", log == [], log)

    s, j = ctl.control("POST", "jobs/1016", {"status": "running", "set_log": "hello\n"})
    check("mutate status", s == 200 and j["status"] == "running" and j["started_at"], j)
    s, j = ctl.control("POST", "jobs/1016", {"append_log": "world\n"})
    s, h, b = c.get(P1 + "/jobs/1016/trace")
    check("mutate log", b == b"hello\nworld\n", b)
    s, j = ctl.control("POST", "jobs/1016", {"status": "failed", "failure_reason": "api_failure",
                                             "fields": {"coverage": 87.5}})
    check("mutate failed", j["status"] == "failed" and j["failure_reason"] == "api_failure"
          and j["coverage"] == 87.5 and j["finished_at"], j)
    s, j = ctl.control("POST", "jobs/1016", {"log_size": 100000})
    s, h, b = c.get(P1 + "/jobs/1016/trace")
    check("log_size", len(b) == 100000 and b.startswith(b"00000001 ") and b[80:89] == b"00000002 ", b[:100])
    s, j = ctl.control("POST", "jobs/1016", {"set_log_base64": "/w=="})
    s, h, b = c.get(P1 + "/jobs/1016/trace")
    check("set_log_base64", b == b"\xff", b)
    s, j = ctl.control("POST", "jobs/1016", {"bogus": 1})
    check("mutate unknown key 400", s == 400, (s, j))
    s, j = ctl.control("POST", "jobs/99999", {"status": "running"})
    check("mutate unknown job 404", s == 404, s)

    # ---------------- scripts ----------------
    ctl.control("POST", "reset")
    s, r = ctl.control("POST", "jobs/1016/script", {
        "steps": [{"status": "running", "append_log": "step1\n"},
                  {"append_log": "step2\n"},
                  {"status": "failed", "failure_reason": "script_failure"}],
        "retries": [[{"status": "running"}, {"status": "failed", "failure_reason": "runner_system_failure"}],
                    [{"status": "success", "append_log": "third time lucky\n"}]]})
    check("script accepted", s == 200 and r == {"job_id": 1016, "steps": 3, "retries": 2}, r)
    s, h, b = c.get(P1 + "/jobs/1016/trace")
    check("trace does not advance script", b == b"", b)
    seq = []
    for _ in range(4):
        s, h, j = c.jget(P1 + "/jobs/1016")
        seq.append(j["status"])
    check("script steps", seq == ["running", "running", "failed", "failed"], seq)
    s, h, b = c.get(P1 + "/jobs/1016/trace")
    check("script log", b == b"step1\nstep2\n", b)
    s, h, j = c.jpost(P1 + "/jobs/1016/retry")
    n1 = j["id"]
    seq = [c.jget(P1 + "/jobs/%d" % n1)[2]["status"] for _ in range(3)]
    s, h, j = c.jget(P1 + "/jobs/%d" % n1)
    check("retry script 1", seq == ["running", "failed", "failed"]
          and j["failure_reason"] == "runner_system_failure", (seq, j.get("failure_reason")))
    s, h, j = c.jpost(P1 + "/jobs/%d/retry" % n1)
    n2 = j["id"]
    s, h, j = c.jget(P1 + "/jobs/%d" % n2)
    check("retry script 2", j["status"] == "success", j["status"])
    s, h, b = c.get(P1 + "/jobs/%d/trace" % n2)
    check("retry script 2 log", b == b"third time lucky\n", b)
    s, h, j = c.jpost(P1 + "/jobs/%d/retry" % n2)
    s, h, j = c.jget(P1 + "/jobs/%d" % j["id"])
    check("retry beyond scripts stays pending", j["status"] == "pending", j["status"])

    # ---------------- faults ----------------
    ctl.control("POST", "reset")
    s, r = ctl.control("POST", "faults", {"kind": "status", "status": 429, "headers": {"Retry-After": "7"},
                                          "path": "/jobs$", "count": 2})
    check("fault accepted", s == 200 and len(r) == 1 and r[0]["count"] == 2, r)
    s, h, b = c.get(P1 + "/jobs")
    check("fault 429", s == 429 and h["retry-after"] == "7" and json.loads(b) == {
        "message": {"error": "This endpoint has been requested too many times. Try again later."}}, (s, h, b))
    s, h, b = c.get(P1 + "/jobs/1008")
    check("fault path filter", s == 200, s)
    s, h, b = c.get(P1 + "/jobs")
    check("fault count 2", s == 429, s)
    s, h, b = c.get(P1 + "/jobs")
    check("fault consumed", s == 200, s)
    s, log = ctl.control("GET", "requests")
    check("faulted requests recorded", [e["fault"] for e in log] == ["status", None, "status", None], log)

    ctl.control("POST", "faults", {"kind": "status", "status": 429, "body": "Retry later\n",
                                   "headers": {"Content-Type": "text/plain", "RateLimit-Reset": "1700000000"}})
    s, h, b = c.get(P1 + "/jobs")
    check("fault 429 text/plain", s == 429 and b == b"Retry later\n" and h["content-type"] == "text/plain"
          and h["ratelimit-reset"] == "1700000000", (s, h, b))
    ctl.control("POST", "faults", {"kind": "status", "status": 503})
    s, h, b = c.get(P1 + "/jobs")
    check("fault 503 default body", s == 503 and json.loads(b) == {"message": "503 Service Unavailable"}, (s, b))
    ctl.control("POST", "faults", {"kind": "html"})
    s, h, b = c.get(P1 + "/jobs")
    check("fault html 502", s == 502 and h["content-type"] == "text/html" and b"<center>nginx</center>" in b, (s, b))
    ctl.control("POST", "faults", {"kind": "bad_json"})
    s, h, b = c.get(P1 + "/jobs")
    check("fault bad_json", s == 200 and not_json(b) and h["content-type"] == "application/json", b)
    ctl.control("POST", "faults", {"kind": "not_json"})
    s, h, b = c.get(P1 + "/jobs")
    check("fault not_json", s == 200 and h["content-type"].startswith("text/html"), h)
    ctl.control("POST", "faults", {"kind": "deep_json", "depth": 5000})
    s, h, b = c.get(P1 + "/jobs")
    check("fault deep_json", s == 200 and b == b"[" * 5000 + b"]" * 5000, len(b))
    ctl.control("POST", "faults", {"kind": "big_body", "size": 3000001})
    s, h, b = c.get(P1 + "/jobs")
    check("fault big_body", s == 200 and len(b) == 3000001 and isinstance(json.loads(b), list), len(b))
    ctl.control("POST", "faults", {"kind": "big_body", "size": 3000000})
    s, h, b = c.get(P1 + "/jobs")
    check("fault big_body even", len(b) == 3000000 and isinstance(json.loads(b), list), len(b))
    ctl.control("POST", "faults", {"kind": "redirect", "to": "second", "status": 307})
    s, h, b = c.get(P1 + "/jobs?scope=failed")
    check("fault redirect to second", s == 307 and h["location"] == secondary + P1 + "/jobs?scope=failed", h)
    ctl.control("POST", "faults", {"kind": "redirect", "location": "http://elsewhere.invalid/x"})
    s, h, b = c.get(P1 + "/jobs")
    check("fault redirect location", s == 302 and h["location"] == "http://elsewhere.invalid/x", h)
    ctl.control("POST", "faults", {"kind": "redirect", "to": "self", "status": 301})
    s, h, b = c.get(P1 + "/jobs")
    check("fault redirect self", s == 301 and h["location"] == primary + P1 + "/jobs", h)

    ctl.control("POST", "faults", {"kind": "reset"})
    got_err = error_of(c.get, P1 + "/jobs")
    check("fault reset", isinstance(got_err, (ConnectionError, http.client.HTTPException, OSError)), got_err)

    ctl.control("POST", "faults", {"kind": "reset_mid_body"})
    data, err = raw_get(primary, P1 + "/jobs")
    check("fault reset_mid_body", data.startswith(b"HTTP/1.1 200") and (err is not None or
          len(data.split(b"\r\n\r\n", 1)[1]) < int(data.split(b"Content-Length: ")[1].split(b"\r\n")[0])),
          (err, data[:100]))

    ctl.control("POST", "faults", {"kind": "truncate"})
    got_err = error_of(c.get, P1 + "/jobs/1008")
    check("fault truncate", isinstance(got_err, http.client.IncompleteRead), repr(got_err))

    # the fake closes the connection (no timeout on our side), after the delay at the least
    ctl.control("POST", "faults", {"kind": "stall", "delay": 1.0})
    t0 = time.time()
    data, err = raw_get(primary, P1 + "/jobs", "")
    dt = time.time() - t0
    check("fault stall then close", data == b"" and err is None and dt >= 1.0, (data[:50], dt, err))

    # a stall far longer than the client's patience
    ctl.control("POST", "faults", {"kind": "stall", "delay": 30.0})
    sc = Client(primary, timeout=0.3)
    got_err = error_of(sc.get, P1 + "/jobs")
    check("fault stall -> client timeout", isinstance(got_err, (socket.timeout, TimeoutError)), repr(got_err))
    sc.close()

    # N pieces of 200 bytes, 0.02 s apart: the whole answer takes (N - 1) * 0.02 s at the least
    ctl.control("POST", "faults", {"kind": "drip", "delay": 0.02, "chunk": 200})
    t0 = time.time()
    data, err = raw_get(primary, P1 + "/jobs/1008")
    dt = time.time() - t0
    pieces = (len(data) + 199) // 200
    check("fault drip", data.startswith(b"HTTP/1.1 200") and json.loads(data.partition(b"\r\n\r\n")[2])["id"]
          == 1008 and pieces > 10 and dt >= (pieces - 1) * 0.02, (pieces, dt, err))

    ctl.control("POST", "faults", {"kind": "huge_headers", "size": 50000})
    data, err = raw_get(primary, P1 + "/jobs/1008")
    head, _, rest = data.partition(b"\r\n\r\n")
    check("fault huge_headers", len(head) > 50000 and head.count(b"X-Padding-") >= 50
          and json.loads(rest)["id"] == 1008, (len(head), err))

    # apply: the action happens even though the answer is lost
    ctl.control("POST", "faults", {"kind": "reset", "method": "POST", "path": "/retry$", "apply": True})
    got_err = error_of(c.post, P1 + "/jobs/1009/retry")
    s, r = ctl.control("GET", "jobs/1009")
    check("fault apply: retry happened", got_err is not None and r["retried"] is True, (got_err, r["retried"]))
    ctl.control("POST", "faults", {"kind": "status", "status": 502, "method": "POST", "path": "/cancel$"})
    s, h, j = c.jpost(P1 + "/jobs/1016/cancel")
    s, r = ctl.control("GET", "jobs/1016")
    check("fault no apply: action did not happen", s == 200 and r["job"]["status"] == "pending", r["job"]["status"])
    ctl.control("POST", "faults", {"kind": "status", "status": 500, "method": "POST"})
    s, h, b = c.get(P1 + "/jobs/1008")
    check("fault method filter", s == 200, s)
    s, r = ctl.control("GET", "faults")
    check("faults listing", len(r) == 1 and r[0]["method"] == "POST", r)
    ctl.control("DELETE", "faults")
    s, r = ctl.control("GET", "faults")
    check("faults cleared", r == [], r)
    s, r = ctl.control("POST", "faults", {"kind": "nope"})
    check("bad fault 400", s == 400, (s, r))
    run_fault_options(primary, c, ctl)

    # ---------------- rate limit ----------------
    ctl.control("POST", "reset")
    ctl.control("POST", "config", {"rate_limit": {"limit": 2, "period": 30}})
    r1 = c.get(P1 + "/jobs/1008")
    r2 = c.get(P1 + "/jobs/1008")
    r3 = c.get(P1 + "/jobs/1008")
    s, log = ctl.control("GET", "requests")
    check("rate limit headers", r1[1]["ratelimit-remaining"] == "1" and r2[1]["ratelimit-remaining"] == "0"
          and r1[1]["ratelimit-limit"] == "2", r1[1])
    # the window opened with the first request (the fake's own clock, whatever the log's order) and
    # is 30 s long
    reset = int(r3[1]["ratelimit-reset"])
    limited = [e["time"] for e in log if e["fault"] == "rate_limit"]
    check("rate limit 429", r3[0] == 429 and r3[2] == b"Retry later\n" and r3[1]["content-type"] == "text/plain"
          and 0 < int(r3[1]["retry-after"]) <= 30 and reset >= min(e["time"] for e in log) + 30
          and len(log) == 3 and len(limited) == 1 and reset > limited[0]
          and r3[1]["ratelimit-resettime"].endswith("GMT"), (r3[1], log))
    ctl.control("POST", "config", {"rate_limit": None})
    s, h, b = c.get(P1 + "/jobs/1008")
    check("rate limit off", s == 200 and "ratelimit-limit" not in h, s)

    # ---------------- misc ----------------
    s, h, b = c.req("HEAD", P1 + "/jobs/1008")
    check("HEAD", s == 200 and b == b"" and int(h["content-length"]) > 100, h)
    ctl.control("POST", "config", {"utc_offset": "+02:00"})
    s, h, j = c.jget(P1 + "/jobs/1008")
    check("utc_offset", j["created_at"].endswith("+02:00"), j["created_at"])
    ctl.control("POST", "config", {"utc_offset": "Z"})
    s, h, j = c.jget(P1 + "/pipelines/101")
    check("GET pipeline", s == 200 and j["id"] == 101 and j["ref"] == "main", s)

    # path prefix (relative URL root), link_base, legacy variants
    s, h, body = c.jget("/gitlab/api/v4/projects/1/jobs?per_page=5")
    check("path prefix served", s == 200 and len(body) == 5
          and h["link"].startswith("<" + primary + "/gitlab/api/v4/projects/1/jobs?"), h.get("link"))
    s, h, body = c.jget("/gitlab/api/v4/projects/3/jobs")
    check("path prefix moved project", s == 301 and h["location"] == primary + "/gitlab/api/v4/projects/1/jobs", h)
    s, h, body = c.jget("/gitlab/api/v4x/projects/1/jobs")
    check("not an API path", s == 404, s)
    ctl.control("POST", "config", {"link_base": secondary})
    s, h, body = c.jget(P1 + "/jobs")
    check("link_base", h["link"].startswith("<" + secondary + P1 + "/jobs?"), h["link"])
    s, h, body = c.jget("/api/v4/projects/2/jobs?pagination=keyset")
    check("link_base keyset", h["link"].startswith("<" + secondary + "/api/v4/projects/2/jobs?"), h["link"])
    ctl.control("POST", "config", {"link_base": None, "legacy_messages": True, "legacy_scopes": True})
    s, h, j = c.jpost(P1 + "/jobs/1021/retry")
    check("legacy message spacing", j == {"message": "403 Forbidden  - Job is not retryable"}, j)
    s, h, j = c.jget(P1 + "/jobs?scope=canceling")
    check("legacy scopes", s == 400 and j == {"error": "scope does not have a valid value"}, (s, j))
    ctl.control("POST", "config", {"legacy_messages": False, "legacy_scopes": False})
    s, h, j = c.jget(P1 + "/jobs?scope=canceling")
    check("current scopes", s == 200 and ids(j) == [1013], ids(j))

    # latency: the answer waits, the control API and other requests do not wait for it
    ctl.control("POST", "reset")
    s, cfg = ctl.control("POST", "config", {"latency": 0.5})
    slow = {}

    def slow_get():
        t0 = time.monotonic()
        slow["answer"] = Client(primary).jget(P1 + "/jobs/1008")
        slow["took"] = time.monotonic() - t0

    t = threading.Thread(target=slow_get)
    t.start()
    waiting = None
    for _ in range(200):
        s, log = ctl.control("GET", "requests")
        if log:
            waiting = log[0]["status"]
            break
        time.sleep(0.005)
    t.join(30)
    s, log = ctl.control("GET", "requests")
    check("latency: answered after it, logged while it runs", cfg["latency"] == 0.5 and log and waiting is None
          and slow.get("answer", (0,))[0] == 200 and slow["answer"][2]["id"] == 1008 and slow["took"] >= 0.5
          and log[0]["status"] == 200, (waiting, slow, log))
    s, r = ctl.control("POST", "config", {"latency": -1})
    check("latency: bad value 400", s == 400 and "latency" in r["error"], (s, r))
    ctl.control("POST", "reset")

    # chunked request body
    u = urllib.parse.urlsplit(primary)
    req = ("POST %s/jobs/1021/play HTTP/1.1\r\nHost: x\r\nPRIVATE-TOKEN: glpat-valid-token\r\n"
           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % P1)
    payload = json.dumps({"job_variables_attributes": [{"key": "C", "value": "chunked"}]}).encode()
    req = req.encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
    data, err = raw(primary, req)
    s, r = ctl.control("GET", "jobs/1021")
    check("chunked request body", data.startswith(b"HTTP/1.1 200") and r["variables"] == [
        {"key": "C", "value": "chunked"}], (data[:60], r["variables"]))

    # clients that vanish mid-request must not hurt the server
    for junk in (b"GET /api/v4/projects/1/jobs HTTP/1.1\r\nHost: x\r\n",
                 b"POST /api/v4/projects/1/jobs/1/play HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc",
                 b"\x16\x03\x01garbage\r\n\r\n"):
        s_ = socket.create_connection((u.hostname, u.port))
        s_.sendall(junk)
        s_.close()
    s, h, j = c.jget(P1 + "/jobs/1008")
    check("server alive after aborted clients", s == 200, s)

    # big log streaming
    ctl.control("POST", "jobs/1012", {"log_size": 20 * 1024 * 1024})
    s, h, b = c.get(P1 + "/jobs/1012/trace")
    check("20 MB trace", s == 200 and len(b) == 20 * 1024 * 1024, len(b))
    ctl.control("POST", "reset")
    s, st = ctl.control("GET", "stats")
    check("reset clears stats", st["requests"] == 0 and st["api_connections"] == 0, st)
    c.close()
    c2.close()
    ctl.close()


def error_of(f, *args):
    """The exception f(*args) raises, or None."""
    try:
        f(*args)
    except Exception as e:
        return e
    return None


def not_json(b):
    try:
        json.loads(b)
    except ValueError:
        return True
    return False


def run_fault_options(primary, c, ctl):
    """The headers fault, a status for broken bodies, and redirects to any Location."""
    ctl.control("POST", "reset")
    # headers: the real answer, with headers set (any case replaces), added or removed (null)
    ctl.control("POST", "faults", {"kind": "headers", "path": "/jobs$", "headers": {
        "link": "<ftp://x/y>; rel=\"next\"", "X-Next-Page": None, "x-page": "7", "RateLimit-Reset": "1"}})
    s, h, body = c.jget(P1 + "/jobs")
    check("fault headers: real body, headers replaced, added, removed", s == 200 and len(body) == 20
          and h["link"] == '<ftp://x/y>; rel="next"' and "x-next-page" not in h and h["x-page"] == "7"
          and h["ratelimit-reset"] == "1" and h["x-per-page"] == "20", (s, h))
    s, log = ctl.control("GET", "requests")
    check("fault headers recorded", [(e["fault"], e["status"]) for e in log] == [("headers", 200)], log)
    ctl.control("POST", "faults", {"kind": "headers", "path": "/jobs$", "headers": {"Link": "<>", "x-page": "2"}})
    data, err = raw_get(primary, P1 + "/jobs?page=2")
    head = data.partition(b"\r\n\r\n")[0].lower().split(b"\r\n")
    check("fault headers: one header of a replaced name", b"link: <>" in head and b"x-page: 2" in head
          and sum(1 for line in head if line.startswith(b"x-page:")) == 1, head)
    ctl.control("POST", "faults", {"kind": "headers", "path": "/jobs/1008$",
                                   "headers": {"Content-Length": None, "Server": None}})
    data, err = raw_get(primary, P1 + "/jobs/1008")
    head, _, rest = data.partition(b"\r\n\r\n")
    check("fault headers: no Content-Length, the body ends at close", data.startswith(b"HTTP/1.1 200")
          and b"content-length" not in head.lower() and b"server:" not in head.lower()
          and b"connection: close" in head.lower() and json.loads(rest)["id"] == 1008, (err, head))
    ctl.control("POST", "faults", {"kind": "status", "status": 503, "headers": {"Content-Type": None}})
    s, h, b = c.get(P1 + "/jobs")
    check("fault headers null on a status fault", s == 503 and "content-type" not in h, h)
    for spec in ({"kind": "headers"}, {"kind": "headers", "headers": {"X-A": True}},
                 {"kind": "headers", "headers": {"X-A": "a\r\nX-B: b"}}, {"kind": "headers", "headers": {"A:B": "1"}},
                 {"kind": "redirect", "location": 5}):
        s, r = ctl.control("POST", "faults", spec)
        check("bad fault %s 400" % json.dumps(spec), s == 400 and "error" in r, (s, r))

    # bad_json, not_json, big_body: any status, and with apply the action still happens
    ctl.control("POST", "faults", {"kind": "bad_json", "method": "POST", "path": "/cancel$", "status": 201,
                                   "apply": True})
    s, h, b = c.post(P1 + "/jobs/1016/cancel")
    s2, r = ctl.control("GET", "jobs/1016")
    check("fault bad_json 201 after apply", s == 201 and not_json(b) and h["content-type"] == "application/json"
          and r["job"]["status"] == "canceled", (s, b, r["job"]["status"]))
    ctl.control("POST", "faults", {"kind": "not_json", "method": "POST", "path": "/erase$", "status": 201,
                                   "apply": True})
    s, h, b = c.post(P1 + "/jobs/1008/erase")
    s2, r = ctl.control("GET", "jobs/1008")
    check("fault not_json 201 after apply", s == 201 and h["content-type"].startswith("text/html")
          and r["job"]["erased_at"] is not None, (s, h, r["job"]["erased_at"]))
    ctl.control("POST", "faults", {"kind": "big_body", "method": "POST", "path": "/retry$", "status": 201,
                                   "size": 100000, "apply": True})
    s, h, b = c.post(P1 + "/jobs/1009/retry")
    s2, r = ctl.control("GET", "jobs/1009")
    check("fault big_body 201 after apply", s == 201 and len(b) == 100000 and isinstance(json.loads(b), list)
          and r["retried"] is True, (s, len(b), r["retried"]))
    ctl.control("POST", "faults", {"kind": "bad_json"})
    s, h, b = c.get(P1 + "/jobs")
    check("fault bad_json default 200", s == 200 and not_json(b), s)

    # redirect: the location is sent exactly as given
    u = urllib.parse.urlsplit(primary)
    for loc in ("x/y", "../jobs/1001", "//%s:%d/api/v4/projects/1/jobs/1001" % (u.hostname, u.port),
                "ftp://x/y", "file:///etc/passwd"):
        ctl.control("POST", "faults", {"kind": "redirect", "path": "/jobs/1008$", "location": loc})
        s, h, b = c.get(P1 + "/jobs/1008")
        check("fault redirect to %s as given" % loc, s == 302 and h["location"] == loc, (s, h.get("location")))
    ctl.control("POST", "reset")


def run_tls():
    openssl = shutil.which("openssl")
    check("openssl for the TLS checks", openssl is not None, "openssl is not installed (a build dependency)")
    if not openssl:
        return
    d = tempfile.mkdtemp()
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    p, primary, secondary, storage = start_server("--tls-cert", cert, "--tls-key", key)
    try:
        check("TLS urls", all(u.startswith("https://") for u in (primary, secondary, storage)), primary)
        ctx = ssl.create_default_context(cafile=cert)
        c = Client(primary, context=ctx)
        s, h, j = c.jget(P1 + "/jobs/1008")
        check("TLS request", s == 200 and j["id"] == 1008, s)
        s, h, j = c.jget(P1 + "/jobs?per_page=5")
        check("TLS keep-alive + https links", h["link"].startswith("<https://"), h["link"])
        c.close()
        c2 = Client(secondary, context=ctx)
        s, h, j = c2.jget(P1 + "/jobs/1008")
        check("TLS secondary", s == 200, s)
        c2.close()
        # a client that refuses the certificate must not hurt the server
        bad = Client(primary, context=ssl.create_default_context())
        error_of(bad.get, P1 + "/jobs/1008")
        bad.close()
        st = Client(primary, context=ctx)
        s, h, j = st.jget(P1 + "/jobs/1008")
        check("TLS alive after handshake failure", s == 200, s)
        st.control("POST", "faults", {"kind": "reset"})
        err = error_of(st.get, P1 + "/jobs")
        check("TLS reset fault", err is not None, err)
        st.close()
    finally:
        p.terminate()
        p.wait(60)
        shutil.rmtree(d, ignore_errors=True)


def is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def run_lifecycle():
    # SIGTERM
    p, primary, _, _ = start_server()
    p.send_signal(signal.SIGTERM)
    rc = p.wait(60)
    check("SIGTERM exits 0", rc == 0, rc)
    # /__control/shutdown
    p, primary, _, _ = start_server()
    c = Client(primary)
    s, r = c.control("POST", "shutdown")
    rc = p.wait(60)
    check("control shutdown exits 0", s == 200 and rc == 0, (s, rc))
    err = p.stderr.read()
    check("quiet stderr", err == "", err)
    # --url-file
    d = tempfile.mkdtemp()
    uf = os.path.join(d, "url")
    p, primary, secondary, storage = start_server("--url-file", uf)
    with open(uf) as fh:
        lines = fh.read().splitlines()
    check("url file", lines == [primary, secondary, storage], lines)
    p.terminate()
    p.wait(60)
    shutil.rmtree(d, ignore_errors=True)
    # --parent-pid: the server must exit when its parent dies
    code = ("import subprocess,sys,os;"
            "p=subprocess.Popen([sys.executable,%r,'--parent-pid',str(os.getpid())],stdout=subprocess.PIPE);"
            "print(p.pid, p.stdout.readline().decode().strip(), flush=True)" % SERVER)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    child = int(out.split()[0])
    # it checks about once a second; 60 s is only how long we are willing to wait
    deadline = time.time() + 60
    while is_running(child) and time.time() < deadline:
        time.sleep(0.1)
    check("exits when parent dies", not is_running(child), child)
    # READY means ready: both listeners answer the first request made after it
    p, primary, secondary, storage = start_server()
    answers = [Client(u).control("GET", "ping") for u in (primary, secondary)]
    s, h, b = Client(storage).get("/gitlab-artifacts/x", token=None)
    check("answers as soon as READY is printed", answers == [(200, {}), (200, {})] and s == 403, (answers, s))
    p.terminate()
    p.wait(60)


def main():
    p, primary, secondary, storage = start_server()
    try:
        run_main(primary, secondary)
        selftest_artifacts.run(sys.modules[__name__], primary, storage, p.pid)
        selftest_scale.run(sys.modules[__name__], primary)
    except Exception:
        import traceback
        traceback.print_exc()
        check("selftest crashed", False)
    finally:
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
    err = p.stderr.read()
    check("no tracebacks on stderr", "Traceback" not in err, err[-2000:])
    run_tls()
    selftest_scale.run_servers(sys.modules[__name__])
    run_lifecycle()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
