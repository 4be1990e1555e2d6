"""The selftest's checks of what the benchmark and the connection specs use (run by
selftest.py, whose harness it is handed: check, Client, start_server, error_of):
scale projects and pages rendered once, latency, the request log switch, the
throttle count, Link URLs naming another host, mutual TLS and the forward proxy."""

import base64
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "proxy.py")
TOKEN = {"PRIVATE-TOKEN": "glpat-valid-token"}
P1 = "/api/v4/projects/1"


def run(t, primary):
    """The checks against the selftest's main fake."""
    c = t.Client(primary)
    c.control("POST", "reset")
    run_scale(t, c)
    run_prerendered(t, c)
    run_knobs(t, c)
    run_links(t, c)
    c.control("POST", "reset")
    c.close()


def pages_of(c, path, per=100):
    """Every page of a job list by its Link rel="next" (keyset), as [(status, body bytes)]."""
    out = []
    url = "%s?pagination=keyset&per_page=%d" % (path, per)
    while url:
        s, h, b = c.get(url)
        out.append((s, b))
        nxt = [p for p in h.get("link", "").split(", ") if p.endswith('rel="next"')]
        url = None
        if s == 200 and nxt:
            u = urllib.parse.urlsplit(nxt[0][1:nxt[0].index(">")])
            url = u.path + "?" + u.query
    return out


def run_scale(t, c):
    s, made = c.control("POST", "projects", {"count": 3, "jobs": 130})
    check = t.check
    check("projects: three made, ids after the seed's", s == 200 and made["projects"] == [7, 8, 9]
          and made["jobs"] == 130 and made["prerendered"] is None, made)
    s, h, p = c.jget("/api/v4/projects/8")
    check("projects: a scale project answers", s == 200 and p["path_with_namespace"] == "scale/project-8", p)
    s, h, rows = c.jget("/api/v4/projects/8/jobs?per_page=100")
    first = made["first_job_id"] + 130
    check("projects: the last 100 jobs, newest first, ids after the seed's",
          s == 200 and len(rows) == 100 and rows[0]["id"] == first + 129 and rows[-1]["id"] == first + 30
          and made["first_job_id"] == 40051, (s, len(rows), rows and rows[0]["id"]))
    job = rows[0]
    check("projects: the seed's job shape (project 4's)",
          set(job) >= {"commit", "pipeline", "runner", "runner_manager", "user", "artifacts", "tag_list"}
          and job["status"] in ("success", "failed") and job["pipeline"]["project_id"] == 8, sorted(job))
    failed = [r for r in rows if r["status"] == "failed"]
    check("projects: every 100th job failed, its pipeline too",
          [r["id"] - first for r in failed] == [42] and failed[0]["pipeline"]["status"] == "failed"
          and failed[0]["failure_reason"] == "script_failure", [r["id"] - first for r in failed])
    s, h, b = c.get("/api/v4/projects/8/jobs?page=2&per_page=100")
    check("projects: offset pages too", s == 200 and len(json.loads(b)) == 30 and h.get("x-next-page") == "", s)
    for body, why in (({"count": 0, "jobs": 1}, "count"), ({"count": 1}, "jobs"),
                      ({"count": 2, "jobs": 600000}, "count * jobs"), ({"count": 1, "jobs": 1, "prerender": 101},
                                                                      "prerender"),
                      ({"count": 1, "jobs": 1, "x": 1}, "body")):
        s, r = c.control("POST", "projects", body)
        check("projects: refused, %s" % why, s == 400 and why in r.get("error", ""), (s, r))
    s, r = c.control("POST", "reset")
    s, h, b = c.get("/api/v4/projects/8")
    check("projects: gone after a reset", s == 404, s)


def run_prerendered(t, c):
    check = t.check
    c.control("POST", "reset")
    s, made = c.control("POST", "projects", {"count": 2, "jobs": 250, "prerender": True})
    a, b = made["projects"]
    check("prerender: made with 100 a page", s == 200 and made["prerendered"] == 100, made)
    served = pages_of(c, "/api/v4/projects/%d/jobs" % a)
    s, stats = c.control("GET", "stats")
    check("prerender: keyset pages served from memory", [s for s, _ in served] == [200, 200, 200]
          and [len(json.loads(x)) for _, x in served] == [100, 100, 50] and stats["prerendered"] == 3,
          ([s for s, _ in served], stats))
    s, h, off = c.get("/api/v4/projects/%d/jobs?page=2&per_page=100" % a)
    check("prerender: an offset page is the same page", s == 200 and off == served[1][1], s)
    s, h, part = c.get("/api/v4/projects/%d/jobs?per_page=30" % a)
    check("prerender: another page size is rendered", s == 200 and json.loads(part) == json.loads(served[0][1])[:30],
          s)
    s, h, fl = c.get("/api/v4/projects/%d/jobs?per_page=100&scope=failed" % a)
    check("prerender: a scope is rendered", s == 200 and [j["status"] for j in json.loads(fl)] == ["failed"] * 3, s)
    c.control("POST", "config", {"utc_offset": "+02:00"})
    s, h, tz = c.get("/api/v4/projects/%d/jobs?per_page=100" % a)
    check("prerender: utc_offset is honoured", s == 200 and b"+02:00" in tz and tz != served[0][1], s)
    c.control("POST", "config", {"utc_offset": "Z"})
    s, stats = c.control("GET", "stats")
    check("prerender: only the pages held were served from memory", stats["prerendered"] == 4, stats)
    # a write to one of its jobs: the project's pages are rendered job by job from then on, and
    # (the write changing nothing that shows) byte for byte as they were held
    c.control("POST", "jobs/%d" % made["first_job_id"], {"fields": {"coverage": None}})
    rendered = pages_of(c, "/api/v4/projects/%d/jobs" % a)
    s, stats = c.control("GET", "stats")
    check("prerender: the bodies held are the bodies rendered", rendered == served and stats["prerendered"] == 4,
          stats)
    jid = made["last_job_id"]
    c.control("POST", "jobs/%d" % jid, {"fields": {"coverage": 12.5}})
    s, h, rows = c.jget("/api/v4/projects/%d/jobs?per_page=100" % b)
    check("prerender: a changed job shows at once", rows[0]["id"] == jid and rows[0]["coverage"] == 12.5,
          rows[0].get("coverage"))
    c.control("POST", "jobs/%d/script" % (jid - 1), {"steps": [{"status": "running"}]})
    c.get("/api/v4/projects/%d/jobs/%d" % (b, jid - 1))
    s, h, rows = c.jget("/api/v4/projects/%d/jobs?per_page=100" % b)
    check("prerender: a scripted step shows too", rows[1]["status"] == "running", rows[1]["status"])


def run_knobs(t, c):
    check = t.check
    c.control("POST", "reset")
    s, cfg = c.control("POST", "config", {"latency": 0.2})
    start = time.time()
    s, h, b = c.get(P1 + "/jobs/1008")
    waited = time.time() - start
    check("latency: an API answer waits", s == 200 and waited >= 0.2 and cfg["latency"] == 0.2, waited)
    c.control("POST", "config", {"latency": 30})
    start = time.time()
    c.control("GET", "ping")
    check("latency: the control API does not", time.time() - start < 30, time.time() - start)
    c.control("POST", "config", {"latency": 0})
    for bad in (-1, "1", True, 61):
        s, r = c.control("POST", "config", {"latency": bad})
        check("latency %r refused" % (bad,), s == 400 and "latency" in r["error"], r)
    c.control("POST", "reset")
    c.control("POST", "config", {"request_log": False})
    c.get(P1 + "/jobs/1008")
    s, log = c.control("GET", "requests")
    s2, stats = c.control("GET", "stats")
    check("request_log false: nothing logged, still counted", log == [] and stats["requests"] == 1, (log, stats))
    c.control("POST", "config", {"request_log": True})
    c.get(P1 + "/jobs/1008")
    s, log = c.control("GET", "requests")
    check("request_log true: logged again", len(log) == 1, len(log))
    # the rate limit the scale case runs under: L a window, the rest 429, counted
    c.control("POST", "reset")
    c.control("POST", "projects", {"count": 10, "jobs": 100, "prerender": True})
    c.control("POST", "config", {"rate_limit": {"limit": 6, "period": 600}})
    answers = [c.get("/api/v4/projects/%d/jobs?per_page=100" % p) for p in range(7, 17)]
    got = [a[0] for a in answers]
    s, stats = c.control("GET", "stats")
    check("rate limit: L a window, then 429, counted as throttled",
          got == [200] * 6 + [429] * 4 and stats["throttled"] == 4, (got, stats))
    h = answers[0][1]
    reset = int(h["ratelimit-reset"])
    check("rate limit: RateLimit-Limit, -Remaining and -Reset (Unix time) on each answer",
          [a[1]["ratelimit-remaining"] for a in answers[:6]] == ["5", "4", "3", "2", "1", "0"]
          and h["ratelimit-limit"] == "6" and time.time() + 590 < reset <= time.time() + 601, h)
    h = answers[-1][1]
    check("rate limit: a 429 says Retry-After, in seconds until the window ends",
          answers[-1][2] == b"Retry later\n" and h["content-type"].startswith("text/plain")
          and 590 < int(h["retry-after"]) <= 600 and h["ratelimit-remaining"] == "0", h)
    c.control("POST", "config", {"rate_limit": {"limit": 1, "period": 0.3}})
    s, h, b = c.get("/api/v4/projects/7/jobs?per_page=100")
    time.sleep(0.35)
    s2, h2, b = c.get("/api/v4/projects/7/jobs?per_page=100")
    check("rate limit: the next window serves again", (s, s2) == (200, 200) and h2["ratelimit-remaining"] == "0",
          (s, s2, h2))
    c.control("POST", "reset")
    s, stats = c.control("GET", "stats")
    check("throttled: reset to 0", stats["throttled"] == 0, stats)


def link_of(h):
    return h.get("link", "").split(">", 1)[0][1:]


def run_links(t, c):
    check = t.check
    c.control("POST", "reset")
    base = "https://gitlab.internal.invalid"
    s, cfg = c.control("POST", "config", {"link_base": base})
    check("link_base: a host that does not resolve", s == 200 and cfg["link_base"] == base, cfg)
    s, h, b = c.get(P1 + "/jobs?per_page=5")
    check("link_base: offset Link URLs name that host",
          link_of(h).startswith(base + P1 + "/jobs?") and 'rel="next"' in h["link"], h.get("link"))
    s, h, b = c.get("/api/v4/projects/2/jobs?pagination=keyset&per_page=5")
    check("link_base: keyset Link URLs too", link_of(h).startswith(base + "/api/v4/projects/2/jobs?"), h.get("link"))
    s, h, b = c.get("/gitlab" + P1 + "/jobs?per_page=5")
    check("link_base: the request's prefix kept", link_of(h).startswith(base + "/gitlab" + P1 + "/jobs?"),
          h.get("link"))
    c.control("POST", "config", {"link_base": base + "/ext", "link_prefix": ""})
    s, h, b = c.get("/gitlab" + P1 + "/jobs?per_page=5")
    check("link_prefix: replaces the request's prefix", link_of(h).startswith(base + "/ext" + P1 + "/jobs?"),
          h.get("link"))
    c.control("POST", "config", {"link_base": None, "link_prefix": "/behind/proxy"})
    s, h, b = c.get(P1 + "/jobs?per_page=5")
    check("link_prefix: without link_base, on the request's origin",
          link_of(h).startswith(c.url + "/behind/proxy" + P1 + "/jobs?"), h.get("link"))
    s, h, b = c.get("/behind/proxy" + P1 + "/jobs?per_page=5")
    check("link_prefix: and the fake answers there", s == 200, s)
    for bad in ("gitlab", "/a b", 5):
        s, r = c.control("POST", "config", {"link_prefix": bad})
        check("link_prefix %r refused" % (bad,), s == 400 and "link_prefix" in r["error"], r)
    c.control("POST", "reset")


# ---- servers of their own: mutual TLS, the proxy ---------------------------

def openssl(d, *args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=d)


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1, a client certificate from the CA, one from another CA."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        openssl(d, "req", "-x509", *ec, "-days", "2", "-keyout", ca + ".key", "-out", ca + ".pem", "-subj", "/CN=" + ca)
    with open(os.path.join(d, "server.ext"), "w") as fh:
        fh.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    with open(os.path.join(d, "client.ext"), "w") as fh:
        fh.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    for name, ca, ext in (("server", "ca", "server.ext"), ("client", "ca", "client.ext"),
                          ("other", "other-ca", "client.ext")):
        openssl(d, "req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name)
        openssl(d, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", name + ".pem")


def tls_client(t, url, d, cert=None):
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
    if cert:
        ctx.load_cert_chain(os.path.join(d, cert + ".pem"), os.path.join(d, cert + ".key"))
    return t.Client(url, context=ctx)


def run_servers(t):
    """Mutual TLS and the proxy, each started here."""
    if shutil.which("openssl") is None:
        t.check("openssl for the mutual TLS checks", False, "openssl is not installed (a build dependency)")
        return
    d = tempfile.mkdtemp()
    procs = []
    try:
        make_certs(d)
        p, mtls, _, _ = t.start_server("--tls-cert", os.path.join(d, "server.pem"), "--tls-key",
                                       os.path.join(d, "server.key"), "--tls-client-ca", os.path.join(d, "ca.pem"))
        procs.append(p)
        p, plain, _, _ = t.start_server()
        procs.append(p)
        p, tls, _, _ = t.start_server("--tls-cert", os.path.join(d, "server.pem"), "--tls-key",
                                      os.path.join(d, "server.key"))
        procs.append(p)
        run_mtls(t, mtls, d)
        p, proxy = start_proxy()
        procs.append(p)
        run_proxy(t, proxy, plain, tls, mtls, d)
    except Exception:
        import traceback
        traceback.print_exc()
        t.check("the mutual TLS and proxy checks ran", False)
    finally:
        for p in procs:
            p.terminate()
            p.wait(60)
            err = p.stderr.read()
            t.check("no tracebacks on stderr (%s)" % p.args[1].rsplit("/", 1)[1], "Traceback" not in err, err[-2000:])
        shutil.rmtree(d, ignore_errors=True)


def run_mtls(t, url, d):
    check = t.check
    c = tls_client(t, url, d, "client")
    s, h, j = c.jget(P1 + "/jobs/1008")
    check("mtls: with the client certificate", s == 200 and j["id"] == 1008, s)
    s, h, j = c.jget(P1 + "/jobs?per_page=5")
    check("mtls: kept alive, https links", s == 200 and h["link"].startswith("<https://"), h.get("link"))
    c.close()
    for who, cert in (("without a certificate", None), ("a certificate from another CA", "other")):
        bad = tls_client(t, url, d, cert)
        err = t.error_of(bad.get, P1 + "/jobs/1008")
        check("mtls: refused at the handshake, %s" % who, isinstance(err, ssl.SSLError), repr(err))
        bad.close()
    # a plain TCP client that never speaks TLS does not hurt it either
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\n\r\n")
    s.close()
    c = tls_client(t, url, d, "client")
    s, h, j = c.jget(P1 + "/jobs/1008")
    check("mtls: still serving after refusals", s == 200, s)
    c.close()


def start_proxy():
    p = subprocess.Popen([sys.executable, PROXY, "--parent-pid", str(os.getpid())],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    assert line and line[0] == "READY" and len(line) == 2, line
    return p, line[1]


def proxy_control(proxy, method, path, body=None):
    u = urllib.parse.urlsplit(proxy)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request(method, "/__proxy/" + path, body=json.dumps(body) if body is not None else None)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data)


def run_proxy(t, proxy, plain, tls, mtls, d):
    check = t.check
    u = urllib.parse.urlsplit(proxy)
    pu = urllib.parse.urlsplit(plain)
    ctl = t.Client(plain)
    ctl.control("POST", "reset")
    # plain requests in absolute form, two on one connection each side
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    got = []
    for jid in (1008, 1009):
        conn.request("GET", plain + P1 + "/jobs/%d" % jid, headers=TOKEN)
        r = conn.getresponse()
        got.append((r.status, json.loads(r.read())["id"]))
    conn.request("POST", plain + P1 + "/jobs/1016/cancel", body="", headers=TOKEN)
    r = conn.getresponse()
    got.append((r.status, json.loads(r.read())["status"]))
    conn.close()
    check("proxy: absolute-form requests relayed", got == [(200, 1008), (200, 1009), (201, "canceled")], got)
    s, stats = ctl.control("GET", "stats")
    check("proxy: kept alive to the server", stats["api_connections"] == 1, stats)
    s, log = proxy_control(proxy, "GET", "requests")
    check("proxy: what it relayed, recorded",
          [(e["method"], e["target"], e["status"]) for e in log] == [
              ("GET", plain + P1 + "/jobs/1008", 200), ("GET", plain + P1 + "/jobs/1009", 200),
              ("POST", plain + P1 + "/jobs/1016/cancel", 201)]
          and log[0]["headers"]["private-token"] == "glpat-valid-token"
          and log[0]["connection"] == log[2]["connection"], log)
    # CONNECT tunnels, to the TLS fake and to the mutual TLS one
    for name, url, cert in (("tls", tls, None), ("mtls", mtls, "client")):
        ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
        if cert:
            ctx.load_cert_chain(os.path.join(d, cert + ".pem"), os.path.join(d, cert + ".key"))
        tu = urllib.parse.urlsplit(url)
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=60, context=ctx)
        conn.set_tunnel(tu.hostname, tu.port)
        conn.request("GET", P1 + "/jobs/1008", headers=TOKEN)
        r = conn.getresponse()
        body = json.loads(r.read())
        conn.request("GET", P1 + "/jobs/1009", headers=TOKEN)
        r2 = conn.getresponse()
        body2 = json.loads(r2.read())
        conn.close()
        check("proxy: CONNECT to the %s fake, two requests in one tunnel" % name,
              r.status == 200 and body["id"] == 1008 and r2.status == 200 and body2["id"] == 1009, r.status)
    time.sleep(0.2)  # the tunnels' byte counts are written once they close
    s, stats = proxy_control(proxy, "GET", "stats")
    s, log = proxy_control(proxy, "GET", "requests")
    tunnels = [e for e in log if e["method"] == "CONNECT"]
    check("proxy: tunnels recorded with their bytes",
          stats["requests"] == 3 and stats["connects"] == 2
          and [e["target"] for e in tunnels] == ["127.0.0.1:%d" % urllib.parse.urlsplit(x).port for x in (tls, mtls)]
          and all(e["bytes_up"] > 0 and e["bytes_down"] > 0 for e in tunnels), (stats, tunnels))
    s, _ = proxy_control(proxy, "DELETE", "requests")
    s, log = proxy_control(proxy, "GET", "requests")
    check("proxy: record cleared", log == [], log)
    # a name only the proxy knows, a host it cannot reach, credentials
    proxy_control(proxy, "POST", "config", {"hosts": {"gitlab.internal.invalid": "127.0.0.1"}})
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("GET", "http://gitlab.internal.invalid:%d%s/jobs/1008" % (pu.port, P1), headers=TOKEN)
    r = conn.getresponse()
    check("proxy: hosts maps a name no resolver knows", r.status == 200 and json.loads(r.read())["id"] == 1008,
          r.status)
    conn.request("GET", "http://127.0.0.1:9%s/jobs/1008" % P1, headers=TOKEN)
    r = conn.getresponse()
    r.read()
    check("proxy: 502 for a host it cannot reach", r.status == 502, r.status)
    conn.close()
    proxy_control(proxy, "POST", "config", {"auth": "user:secret"})
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    # refused with a body: the body is read all the same, and the connection goes on
    conn.request("POST", plain + P1 + "/jobs/1008/retry", body="x" * 300, headers=TOKEN)
    r = conn.getresponse()
    r.read()
    no_auth = (r.status, r.getheader("proxy-authenticate"))
    good = "Basic " + base64.b64encode(b"user:secret").decode()
    conn.request("GET", plain + P1 + "/jobs/1008", headers=dict(TOKEN, **{"Proxy-Authorization": good}))
    r = conn.getresponse()
    r.read()
    conn.close()
    check("proxy: auth, 407 without the credentials, relayed with them on the same connection",
          no_auth == (407, 'Basic realm="fake-proxy"') and r.status == 200, (no_auth, r.status))
    s, log = proxy_control(proxy, "GET", "requests")
    check("proxy: Proxy-Authorization is recorded, never relayed",
          log[-1]["headers"].get("proxy-authorization") == good
          and "proxy-authorization" not in ctl.control("GET", "requests")[1][-1]["headers"], log[-1]["headers"])
    s, r = proxy_control(proxy, "POST", "config", {"auth": "nocolon"})
    check("proxy: bad config refused", s == 400 and "auth" in r["error"], r)
    s, _ = proxy_control(proxy, "POST", "reset")
    s, cfg = proxy_control(proxy, "GET", "config")
    s2, stats = proxy_control(proxy, "GET", "stats")
    check("proxy: reset", cfg == {"auth": None, "hosts": {}} and stats["requests"] == 0, (cfg, stats))
    ctl.close()
