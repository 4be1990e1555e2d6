#!/usr/bin/env python3
"""make bench: the client side by side with its floors and its peers, against
the fake GitLab (run inside tools/with-fake.sh, which exports GITLAB_FAKE_URL).

    python3 bench/side_by_side.py [--runs 5] [--scale-runs 3] [--results PATH] VERSION:LUA...

- list: 20,000 jobs of one project (200 pages of 100, rendered once by the fake):
  `each` against the streaming floor (one keep-alive curl for the same URLs, each
  page decoded with lua-cjson in the same Lua), `all` against the keeping floor (the
  same, every job kept), python-gitlab's lazy iterator, one curl process a page.
  Client CPU (user + sys of every process of the peer), wall and peak RSS (summed over
  a pipeline's processes), medians of --runs alternating runs.
- scale: the newest 100 jobs of each of 200 projects, batch at concurrency 16, under
  a server limit of L requests per window: 429s with and without rate_limit, and the
  wall time against what the limit allows.
- latency: 200 pages at 50 ms a request: one at a time, each{concurrency = 8}, batch.
- soak: 100,000 requests on one client (half blocking, half started), RSS growth.
Prints the tables and the goals, and writes them with the machine, the date and the
versions to --results (markdown).
"""

import argparse
import http.client
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOKEN = "glpat-valid-token"
PYTHON = "/usr/bin/python3"  # where Debian's python3-gitlab is
LIST_JOBS, SCALE_PROJECTS, SCALE_JOBS = 20000, 200, 150
LIMIT, WINDOW, CONCURRENCY = 50, 2, 16  # the scale case's server limit: L requests a window
LATENCY, SOAK = 0.05, 100000

URL = os.environ.get("GITLAB_FAKE_URL") or sys.exit("side_by_side.py: GITLAB_FAKE_URL (run through tools/with-fake.sh)")


def control(method, path, body=None):
    u = urlsplit(URL)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    conn.request(method, "/__control/" + path, body=None if body is None else json.dumps(body),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = json.loads(r.read() or b"null")
    conn.close()
    if r.status != 200:
        raise RuntimeError("control %s %s: %s %s" % (method, path, r.status, data))
    return data


def lua_env(v):
    env = dict(os.environ, GITLAB_URL=URL, GITLAB_TOKEN=TOKEN, LUA_PATH=os.path.join(ROOT, "lua/?.lua") + ";;",
               LUA_CPATH=os.path.join(ROOT, "build", v, "?.so") + ";;")
    for k in ("CI_JOB_TOKEN", "CI_SERVER_URL"):
        env.pop(k, None)
    return env


def measure(cmds, env, d):
    """Runs cmds (argv lists) as one pipeline; -> (cpu s, wall s, peak RSS KiB summed, last's stdout).
    Each runs under GNU time for its peak RSS: a child's own ru_maxrss starts from its parent's
    (here this script's) at the fork, whereas time's children start small."""
    t0 = time.monotonic()
    procs, prev, rss_files = [], None, []
    for i, cmd in enumerate(cmds):
        rss_files.append(os.path.join(d, "rss.%d" % i))
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_files[-1]] + cmd, stdin=prev,
                             stdout=subprocess.PIPE, env=env, cwd=ROOT)
        if prev is not None:
            prev.close()  # the pipe is the next one's now
        prev = p.stdout
        procs.append(p)
    out = procs[-1].stdout.read().decode()
    cpu, rss = 0.0, 0
    for p in procs:
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            raise RuntimeError("%s exited with %d" % (p.args, p.returncode))
        cpu += ru.ru_utime + ru.ru_stime
    wall = time.monotonic() - t0
    for f in rss_files:
        with open(f) as fh:
            rss += int(fh.read().split()[-1])
    return cpu, wall, rss, out


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def lua_case(v, binary, *args):
    out = subprocess.run([binary, os.path.join(HERE, "cases.lua")] + [str(a) for a in args], env=lua_env(v),
                         cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- list: 20,000 jobs ----------------------------------------------------

def list_urls(v, binary, project, d):
    """The URLs the client's each asks for, as the fake recorded them: the floors fetch the same."""
    control("POST", "config", {"request_log": True})
    control("DELETE", "requests")
    _, _, _, out = measure([[binary, "bench/list_one.lua", "each", str(project)]], lua_env(v), d)
    assert int(out) == LIST_JOBS, out
    log = control("GET", "requests")
    control("POST", "config", {"request_log": False})
    return ["%s%s?%s" % (URL, e["path"], e["query"]) for e in log]


def list_peers(luas, project, d):
    urls = list_urls(luas[0][0], luas[0][1], project, d)
    cfg = os.path.join(d, "curl.cfg")
    with open(cfg, "w") as fh:
        fh.write('silent\nfail\nheader = "PRIVATE-TOKEN: %s"\nwrite-out = "\\n"\n' % TOKEN)
        fh.writelines('url = "%s"\n' % u for u in urls)
    plain = os.path.join(d, "urls")
    with open(plain, "w") as fh:
        fh.writelines(u + "\n" for u in urls)
    curl = ["curl", "--config", cfg]
    per_page = ["sh", "-c", 'while read -r u; do curl -sf -H "PRIVATE-TOKEN: %s" "$u" && echo || exit 1; done <"$1"'
                % TOKEN, "sh", plain]
    peers = []
    for v, binary in luas:
        lua = [binary, "bench/list_one.lua"]
        name = "LuaJIT" if v == "jit" else "Lua " + v
        peers += [("each (%s)" % name, v, [lua + ["each", str(project)]]),
                  ("streaming floor (%s)" % name, v, [curl, lua + ["stream"]]),
                  ("all (%s)" % name, v, [lua + ["all", str(project)]]),
                  ("keeping floor (%s)" % name, v, [curl, lua + ["keep"]])]
    v, binary = luas[0]
    peers.append(("python-gitlab, lazy iterator", v, [[PYTHON, "bench/list_python.py", str(project)]]))
    peers.append(("one curl process a page", v, [per_page, [binary, "bench/list_one.lua", "stream"]]))
    return peers, len(urls)


def run_list(luas, project, runs, d):
    peers, pages = list_peers(luas, project, d)
    got = {name: [] for name, _, _ in peers}
    for r in range(runs + 1):  # run 0 warms up and checks, unmeasured
        order = peers if r % 2 == 0 else peers[::-1]
        for name, v, cmds in order:
            cpu, wall, rss, out = measure(cmds, lua_env(v), d)
            if int(out) != LIST_JOBS:
                raise RuntimeError("%s listed %s jobs, not %d" % (name, out.strip(), LIST_JOBS))
            if r:
                got[name].append((cpu, wall, rss))
    rows = [(name, median([x[0] for x in got[name]]), median([x[1] for x in got[name]]),
             median([x[2] for x in got[name]]) / 1024) for name, _, _ in peers]
    return rows, pages


def list_goals(rows, luas):
    cpu = {name: c for name, c, _, _ in rows}
    goals = []
    for v, _ in luas:
        name = "LuaJIT" if v == "jit" else "Lua " + v
        goals.append(("each / streaming floor, CPU (%s)" % name,
                      cpu["each (%s)" % name] / cpu["streaming floor (%s)" % name], "<=", 1.10))
        goals.append(("all / keeping floor, CPU (%s)" % name,
                      cpu["all (%s)" % name] / cpu["keeping floor (%s)" % name], "<=", 1.15))
        goals.append(("each / python-gitlab, CPU (%s)" % name,
                      cpu["each (%s)" % name] / cpu["python-gitlab, lazy iterator"], "<=", 0.6))
    return goals


# ---- scale, latency, soak --------------------------------------------------

def throttled():
    return control("GET", "stats")["throttled"]


def run_scale(v, binary, first, runs):
    control("POST", "config", {"rate_limit": None})
    free = lua_case(v, binary, "scale", first, SCALE_PROJECTS, CONCURRENCY)
    assert free.get("failed") == 0 and free["jobs"] == SCALE_PROJECTS * 100, free
    allowed = ((SCALE_PROJECTS + LIMIT - 1) // LIMIT - 1) * WINDOW + free["wall"] * min(LIMIT, SCALE_PROJECTS) \
        / SCALE_PROJECTS
    got = {"with": [], "without": []}
    for r in range(runs):
        for how in (("with", "without") if r % 2 == 0 else ("without", "with")):
            time.sleep(WINDOW)  # the last run's window, and the client's learned limit, gone
            control("POST", "config", {"rate_limit": {"limit": LIMIT, "period": WINDOW}})  # a new window
            before = throttled()
            extra = (LIMIT, WINDOW) if how == "with" else ()
            res = lua_case(v, binary, "scale", first, SCALE_PROJECTS, CONCURRENCY, *extra)
            res["sent_429"] = throttled() - before
            got[how].append(res)
    control("POST", "config", {"rate_limit": None})
    return free, allowed, got


def run_latency(v, binary, project, pages):
    control("POST", "config", {"latency": LATENCY})
    try:
        return [("one page at a time (each)", lua_case(v, binary, "sequential", project)),
                ("each{concurrency = 8}", lua_case(v, binary, "ahead", project, 8)),
                ("batch of %d pages, concurrency 8" % pages, lua_case(v, binary, "pages", project, pages, 8))]
    finally:
        control("POST", "config", {"latency": 0})


def run_soak(v, binary, project, job, n):
    return lua_case(v, binary, "soak", project, job, n)


# ---- the report -------------------------------------------------------------

def verdict(value, op, goal):
    ok = value <= goal if op == "<=" else value < goal
    return "met" if ok else "MISSED by %.0f%%" % ((value / goal - 1) * 100)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return "?"


def versions(luas):
    out = []
    v, binary = luas[0]
    env = "LUA_PATH='lua/?.lua;;' LUA_CPATH='build/%s/?.so;;'" % v
    out.append(("gitlab-jobs", "%s (%s)" % (sh("%s %s -e 'print(require(\"gitlab.jobs\").VERSION)'" % (env, binary)),
                                           sh("git describe --always --dirty 2>/dev/null") or "no git")))
    for _, b in luas:
        out.append((b, sh("%s -v 2>&1" % b)))
    out.append(("lua-cjson", sh("%s -e 'print(require(\"cjson\")._VERSION)'" % binary)))
    out.append(("curl", sh("curl --version").splitlines()[0] if sh("curl --version") else "?"))
    out.append(("python-gitlab", sh("%s -c 'import gitlab; print(gitlab.__version__)'" % PYTHON)))
    out.append(("python3", sh("%s --version" % PYTHON)))
    return out


def machine():
    model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip() or platform.processor()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2 / 1048576}' /proc/meminfo")
    return "%s, %d cores, %s RAM, %s %s, load average %s" % (
        model, os.cpu_count() or 0, mem, platform.system(), platform.release(),
        " ".join("%.2f" % x for x in os.getloadavg()))


def table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def report(args, luas, list_rows, pages, goals, scale, latency, soak):
    free, allowed, got = scale
    out = ["# gitlab-jobs benchmark", "",
           "Date: %s  " % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "Machine: %s" % machine(), "", "Versions:", ""]
    out += ["- %s: %s" % kv for kv in versions(luas)]
    out += ["", "## List %d jobs (%d pages of 100)" % (LIST_JOBS, pages), "",
            "Medians of %d alternating runs (after one unmeasured run); CPU is user + sys of every "
            "process of the peer, RSS the sum of their peaks." % args.runs, ""]
    out += table(["peer", "CPU s", "wall s", "peak RSS MiB"],
                 [(n, "%.3f" % c, "%.3f" % w, "%.1f" % m) for n, c, w, m in list_rows])
    out += [""]
    out += table(["ratio", "value", "goal", ""], [(n, "%.2fx" % x, "%s %.2fx" % (op, g), verdict(x, op, g))
                                                  for n, x, op, g in goals])
    out += ["", "## Scale: the newest 100 jobs of %d projects, batch at concurrency %d" % (SCALE_PROJECTS, CONCURRENCY),
            "", "Server limit: %d requests per %d s window. The limit allows %.2f s: %d more windows after the "
            "first, then one window's share of the unlimited run (%.2f s). %d runs each, alternating." % (
                LIMIT, WINDOW, allowed, (SCALE_PROJECTS + LIMIT - 1) // LIMIT - 1, free["wall"], args.scale_runs), ""]
    rows, goals2 = [("no server limit", "%.2f" % free["wall"], 0, "-", "-", "-")], []
    for how, label in (("with", "rate_limit = {requests = %d, per = %d}" % (LIMIT, WINDOW)),
                       ("without", "without rate_limit (learned from headers)")):
        runs = got[how]
        if runs and runs[0].get("unsupported"):
            rows.append((label, "not in this build: " + runs[0]["unsupported"], "", "", "", ""))
            goals2.append(("%s: rate_limit" % label, None, "", "not measured: this build has no rate_limit"))
            continue
        wall = median([r["wall"] for r in runs])
        worst = max(r["sent_429"] for r in runs)
        st = [r["stats"] for r in runs if r.get("stats")]
        rows.append((label, "%.2f (%.2fx)" % (wall, wall / allowed), ", ".join(str(r["sent_429"]) for r in runs),
                     ", ".join(str(s["rate_limited"]) for s in st) or "no stats()",
                     ", ".join("%.1f" % s["waited"] for s in st) or "-", sum(r["failed"] for r in runs)))
        if how == "with":
            goals2.append(("429s with rate_limit (worst run)", worst, "== 0", "met" if worst == 0 else
                           "MISSED by %d" % worst))
        else:
            goals2.append(("429s without rate_limit (worst run)", worst, "<= %d (one window)" % LIMIT,
                           "met" if worst <= LIMIT else "MISSED by %d" % (worst - LIMIT)))
        goals2.append(("wall / allowed, %s" % how, "%.2fx" % (wall / allowed), "<= 1.20x", verdict(wall / allowed,
                                                                                                    "<=", 1.2)))
    out += table(["run", "wall s (vs allowed)", "429s sent (fake)", "429s met (stats)", "waited s (stats)",
                  "calls failed"], rows)
    out += [""] + table(["goal", "value", "target", ""], goals2)
    seq = latency[0][1]["wall"]
    out += ["", "## Latency: %d pages at %d ms a request" % (pages, LATENCY * 1000), ""]
    out += table(["how", "wall s", "speed-up"], [(n, "%.2f" % r["wall"], "%.1fx" % (seq / r["wall"]))
                                                 for n, r in latency])
    growth = soak["rss_end"] - soak["rss_after_1000"]
    out += ["", "## Soak: %d requests on one client (half blocking, half started, 8 in flight)" % args.soak, ""]
    out += table(["requests", "wall s", "req/s", "RSS after 1,000 KiB", "RSS at the end KiB", "growth KiB",
                  "Lua heap growth KiB", "peak RSS KiB"],
                 [(soak["requests"], "%.1f" % soak["wall"], "%.0f" % (soak["requests"] / soak["wall"]),
                   soak["rss_after_1000"], soak["rss_end"], growth,
                   "%.1f" % (soak["heap_end"] - soak["heap_after_1000"]), soak["peak_rss"])])
    out += ["", "RSS growth after the first 1,000: %d KiB (goal < 1024 KiB: %s)." % (
        growth, "met" if growth < 1024 else "MISSED by %d KiB" % (growth - 1023))]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale-runs", type=int, default=3)
    ap.add_argument("--soak", type=int, default=SOAK, help="requests of the soak")
    ap.add_argument("--results", default=os.path.join(ROOT, "build", "bench", "RESULTS.md"))
    ap.add_argument("luas", nargs="+", metavar="VERSION:LUA")
    args = ap.parse_args()
    luas = [tuple(x.split(":", 1)) for x in args.luas]
    control("POST", "config", {"request_log": False, "rate_limit": None, "latency": 0})
    made = control("POST", "projects", {"count": 1, "jobs": LIST_JOBS, "prerender": True})
    project = made["projects"][0]
    scale = control("POST", "projects", {"count": SCALE_PROJECTS, "jobs": SCALE_JOBS, "prerender": True})
    v, binary = luas[0]
    with tempfile.TemporaryDirectory() as d:
        print("list: %d jobs, %d runs of each peer ..." % (LIST_JOBS, args.runs + 1), flush=True)
        list_rows, pages = run_list(luas, project, args.runs, d)
    goals = list_goals(list_rows, luas)
    print("scale: %d projects under %d requests per %d s ..." % (SCALE_PROJECTS, LIMIT, WINDOW), flush=True)
    sc = run_scale(v, binary, scale["projects"][0], args.scale_runs)
    print("latency: %d pages at %d ms ..." % (pages, LATENCY * 1000), flush=True)
    lat = run_latency(v, binary, project, pages)
    print("soak: %d requests ..." % args.soak, flush=True)
    soak = run_soak(v, binary, project, made["last_job_id"], args.soak)
    lines = report(args, luas, list_rows, pages, goals, sc, lat, soak)
    print("\n".join(lines[1:]))
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
    with open(args.results, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n(written to %s)" % os.path.relpath(args.results, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
