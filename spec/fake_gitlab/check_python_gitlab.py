#!/usr/bin/python3
"""Drive the fake GitLab server with python-gitlab, as a second opinion that
the fake answers like the real thing.

    /usr/bin/python3 spec/fake_gitlab/check_python_gitlab.py

Needs Debian's python3-gitlab (installed for /usr/bin/python3). Prints each
step and 'OK' at the end; exits non-zero on any failure.
"""

import hashlib
import json
import os
import subprocess
import sys
import urllib.request

import gitlab

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")


def step(msg):
    print("- " + msg, flush=True)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def refused(what, call, error, code):
    """call() must fail with python-gitlab's error for that HTTP status."""
    try:
        call()
    except error as e:
        step("%s: %s %s" % (what, e.response_code, e.error_message))
        expect(e.response_code == code, "%s: %d" % (what, code))
        return
    raise AssertionError("%s: the call succeeded" % what)


def control(base, method, path, body=None, raw=False):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + "/__control/" + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read() if raw else json.loads(r.read())


def sha(data):
    return hashlib.sha256(data).hexdigest()


def run_artifacts(gl, url):
    """python-gitlab's own artifact methods get the fake's bytes and answers."""
    control(url, "POST", "reset")
    project = gl.projects.get(1, lazy=True)
    job = project.jobs.get(1008)
    info = control(url, "GET", "jobs/1008/artifacts")["archive"]
    data = job.artifacts()
    step("job.artifacts() of 1008: %d bytes, sha256 %s..." % (len(data), sha(data)[:12]))
    expect(len(data) == info["size"] == job.artifacts_file["size"] and sha(data) == info["sha256"], "artifacts()")
    chunks = []
    job.artifacts(streamed=True, action=chunks.append, chunk_size=4096)
    expect(sha(b"".join(chunks)) == info["sha256"] and len(chunks) > 1, "artifacts(streamed=True)")
    sums = {e["path"]: e["sha256"] for e in info["entries"]}
    for path in ("reports/junit.xml", "build/lib/plugins/http/handler.so", "docs/release notes.md",
                 "docs/caf\u00e9 menu.txt"):
        got = job.artifact(path)
        step("job.artifact(%r): %d bytes" % (path, len(got)))
        expect(sha(got) == sums[path], "artifact(%s)" % path)

    docs = gl.projects.get("acme/platform/docs", lazy=True)
    by_ref = docs.artifacts.download(ref_name="release/1.2", job="pages")
    want = control(url, "GET", "jobs/6005/artifacts")["archive"]["sha256"]
    step("project.artifacts.download('release/1.2', 'pages'): the archive of job 6005: %s" % (sha(by_ref) == want))
    expect(sha(by_ref) == want, "download by ref")
    raw = docs.artifacts.raw("main", "public/build.txt", "pages")
    step("project.artifacts.raw('main', 'public/build.txt', 'pages'): %r" % raw)
    expect(raw == control(url, "GET", "jobs/6010/artifacts/file/public/build.txt", raw=True), "raw by ref")
    refused("artifacts of a job without any", project.jobs.get(1009, lazy=True).artifacts,
            gitlab.exceptions.GitlabGetError, 404)
    refused("by ref, a job only an older pipeline has",
            lambda: docs.artifacts.download(ref_name="release/1.2", job="pdf"), gitlab.exceptions.GitlabGetError, 404)

    control(url, "POST", "config", {"object_storage": True})
    control(url, "DELETE", "requests")
    data = job.artifacts()
    log = control(url, "GET", "requests")
    hops = [(e["listener"], e["status"]) for e in log]
    leaked = sorted(h for e in log if e["listener"] == "storage" for h in e["headers"]
                    if h in ("private-token", "job-token", "authorization"))
    step("object storage: %s; token headers that reached storage: %s" % (hops, leaked or "none"))
    expect(sha(data) == info["sha256"] and hops == [("primary", 302), ("storage", 200)], "redirected download")
    control(url, "POST", "config", {"object_storage": False})

    job.keep_artifacts()
    kept = control(url, "GET", "jobs/1008/artifacts")
    step("job.keep_artifacts(): artifacts_expire_at %s" % kept["artifacts_expire_at"])
    expect(kept["artifacts_expire_at"] is None and kept["archive"] is not None, "keep_artifacts")
    job.delete_artifacts()
    gone = control(url, "GET", "jobs/1008/artifacts")["archive"]
    step("job.delete_artifacts(): archive %s" % gone)
    expect(gone is None, "delete_artifacts")
    control(url, "POST", "config", {"keep_latest_artifacts": False})
    project.artifacts.delete()
    left = [jid for jid in (1001, 1008) if control(url, "GET", "jobs/%d/artifacts" % jid)["archive"]]
    step("project.artifacts.delete(): archives left in project 1: %s" % left)
    expect(left == [], "project artifacts delete")
    control(url, "POST", "reset")


def run(url):
    gl = gitlab.Gitlab(url, private_token="glpat-valid-token", per_page=20)
    gl.auth()
    step("auth: current user is %s" % gl.user.username)
    expect(gl.user.username == "root", "GET /user")

    project = gl.projects.get("acme/platform/api")
    step("project by path: id=%d %s" % (project.id, project.path_with_namespace))
    expect(project.id == 1, "project id")

    failed = project.jobs.list(scope="failed", get_all=True)
    step("jobs by path, scope=failed: %s" % [j.id for j in failed])
    expect([j.id for j in failed] == [1010, 1009, 1006, 1004], "failed jobs")
    expect(failed[0].failure_reason == "runner_system_failure", "failure_reason")

    by_id = gl.projects.get(1, lazy=True)
    mixed = by_id.jobs.list(scope=["manual", "running"], get_all=True)
    step("jobs by id, scope[]=manual&scope[]=running: %s" % [j.id for j in mixed])
    expect([j.id for j in mixed] == [1021, 1012], "scope array")

    every = by_id.jobs.list(get_all=True)
    step("all jobs of project 1 (2 pages of 20): %d jobs" % len(every))
    expect(len(every) == 22 and every[0].id == 1022 and every[-1].id == 1001, "all project 1 jobs")

    mono = gl.projects.get("acme/big/monorepo", lazy=True)
    n = sum(1 for _ in mono.jobs.list(iterator=True, per_page=100))
    step("iterated project 2 jobs with per_page=100: %d" % n)
    expect(n == 350, "350 monorepo jobs")

    keyset = list(mono.jobs.list(iterator=True, pagination="keyset", per_page=100))
    step("keyset pagination over project 2: %d jobs" % len(keyset))
    expect(len(keyset) == 350 and keyset[0].id == 20350, "keyset walk")

    pl = project.pipelines.get(101)
    pjobs = pl.jobs.list(get_all=True)
    pjobs_r = pl.jobs.list(get_all=True, include_retried=True)
    bridges = pl.bridges.list(get_all=True)
    step("pipeline 101: %d jobs, %d with retried, bridges %s" % (len(pjobs), len(pjobs_r), [b.id for b in bridges]))
    expect(len(pjobs) == 18 and len(pjobs_r) == 19, "pipeline jobs")
    expect([b.id for b in bridges] == [1024, 1023] and bridges[1].downstream_pipeline["id"] == 9001, "bridges")

    job = project.jobs.get(1008)
    step("get job 1008: %s %s on %s" % (job.name, job.status, job.runner["description"]))
    expect(job.status == "success" and job.tag_list == ["docker", "linux"], "job 1008")

    trace = job.trace()
    step("trace of 1008: %d bytes, sections: %s" % (len(trace), b"section_start:" in trace))
    expect(b"section_start:" in trace and b"\x1b[" in trace, "trace")
    binary = project.jobs.get(1014, lazy=True).trace()
    expect(b"\xff\xfe" in binary, "binary trace")

    failed_job = project.jobs.get(1009)
    new = failed_job.retry()
    step("retry 1009 -> new job %d (%s)" % (new["id"], new["status"]))
    expect(new["id"] == 40051 and new["status"] == "pending", "retry")
    refused("retry of a retried job refused", failed_job.retry, gitlab.exceptions.GitlabJobRetryError, 403)

    pending = project.jobs.get(1016)
    res = pending.cancel()
    step("cancel 1016 -> %s" % res["status"])
    expect(res["status"] == "canceled", "cancel")

    project.jobs.get(1005, lazy=True).erase()
    erased = project.jobs.get(1005)
    step("erase 1005 -> erased_at %s" % erased.erased_at)
    expect(erased.erased_at is not None, "erase")

    manual = project.jobs.get(1021)
    manual.play(post_data={"job_variables_attributes": [{"key": "DEPLOY_ENV", "value": "staging"}]})
    played = project.jobs.get(1021)
    seen = control(url, "GET", "jobs/1021")["variables"]
    step("play 1021 -> %s with variables %s" % (played.status, seen))
    expect(played.status == "pending" and seen == [{"key": "DEPLOY_ENV", "value": "staging"}], "play")
    refused("play of a non-manual job refused", manual.play, gitlab.exceptions.GitlabJobPlayError, 400)
    refused("unknown job", lambda: project.jobs.get(424242), gitlab.exceptions.GitlabGetError, 404)

    moved = gl.projects.get("acme/platform/old-api")
    step("moved project followed to id %d" % moved.id)
    expect(moved.id == 1, "moved project")

    jt = gitlab.Gitlab(url, job_token="job-token-running")
    me = jt.http_get("/job")
    step("GET /job with the job token: %d %s" % (me["id"], me["name"]))
    expect(me["id"] == 1012, "job token")

    bad = gitlab.Gitlab(url, private_token="glpat-expired")
    refused("expired token", bad.auth, gitlab.exceptions.GitlabAuthenticationError, 401)

    run_artifacts(gl, url)


def main():
    p = subprocess.Popen([sys.executable, SERVER, "--parent-pid", str(os.getpid())],
                         stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().split()
        if len(line) != 4 or line[0] != "READY":
            print("server did not start: %r" % line)
            return 1
        url = line[1]
        print("fake GitLab at %s, python-gitlab %s" % (url, gitlab.__version__))
        try:
            run(url)
        except Exception as e:
            import traceback
            traceback.print_exc()
            print("FAILED: %s" % e)
            return 1
        print("OK")
        return 0
    finally:
        p.terminate()
        p.wait(5)


if __name__ == "__main__":
    sys.exit(main())
