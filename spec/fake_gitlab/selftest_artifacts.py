"""The selftest's checks of artifacts, object storage and ranges (run by selftest.py,
whose harness it is handed: check, Client, raw_get, error_of)."""

import hashlib
import http.client
import io
import json
import urllib.parse
import zipfile

P1 = "/api/v4/projects/1"
P6 = "/api/v4/projects/6"
MSG_NOT_FOUND = {"message": "404 Not Found"}
MSG_NOT_FOUND_LC = {"message": "404 Not found"}
ATTACHMENT = "attachment; filename=\"artifacts.zip\"; filename*=UTF-8''artifacts.zip"


def run(t, primary, storage, pid):
    c = t.Client(primary)
    ctl = t.Client(primary)
    h = Helpers(t, c, ctl, storage)
    ctl.control("POST", "reset")
    run_seeds(t, h)
    run_downloads(t, h)
    run_files(t, h)
    run_by_ref(t, h)
    run_keep_delete(t, h)
    run_ranges(t, h)
    run_storage(t, h)
    run_faults(t, h)
    run_synthetic(t, h, pid)
    run_cancel_and_order(t, h)
    c.close()
    ctl.close()


class Helpers:
    def __init__(self, t, c, ctl, storage):
        self.t = t
        self.c = c
        self.ctl = ctl
        self.storage = storage

    def archive(self, job_id):
        """The archive's bytes as the control API gives them."""
        s, hs, b = self.ctl.req("GET", "/__control/jobs/%d/artifacts/archive" % job_id, token=None)
        assert s == 200, (job_id, s, b[:200])
        return b

    def info(self, job_id):
        return self.ctl.control("GET", "jobs/%d/artifacts" % job_id)[1]

    def file(self, job_id, path):
        s, hs, b = self.ctl.req("GET", "/__control/jobs/%d/artifacts/file/%s" % (job_id, quote_path(path)),
                                token=None)
        assert s == 200, (job_id, path, s)
        return b

    def follow(self, location, headers=None, method="GET"):
        """A request to where Location points, with no token."""
        u = urllib.parse.urlsplit(location)
        client = self.t.Client("%s://%s" % (u.scheme, u.netloc))
        try:
            return client.req(method, u.path + "?" + u.query, headers=headers, token=None)
        finally:
            client.close()

    def log(self):
        return self.ctl.control("GET", "requests")[1]


def quote_path(path):
    return "/".join(urllib.parse.quote(seg, safe="") for seg in path.split("/"))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def run_seeds(t, h):
    for jid, meta in ((1001, 186), (1008, 214)):
        s, hs, j = h.c.jget(P1 + "/jobs/%d" % jid)
        info = h.info(jid)
        data = h.archive(jid)
        t.check("job %d: artifacts_file and its archive entry give the archive's real size" % jid,
                j["artifacts_file"] == {"filename": "artifacts.zip", "size": len(data)}
                and j["artifacts"][:2] == [
                    {"file_type": "archive", "size": len(data), "filename": "artifacts.zip", "file_format": "zip"},
                    {"file_type": "metadata", "size": meta, "filename": "metadata.gz", "file_format": "gzip"}]
                and info["archive"]["size"] == len(data) and info["archive"]["sha256"] == sha(data), (j, info))
        z = zipfile.ZipFile(io.BytesIO(data))
        t.check("job %d: a real zip whose files are the control API's" % jid, z.testzip() is None and all(
            z.read(e["path"]) == h.file(jid, e["path"]) and sha(z.read(e["path"])) == e["sha256"]
            for e in info["archive"]["entries"] if not e["directory"]), z.namelist())
    names = [e["path"] for e in h.info(1008)["archive"]["entries"]]
    t.check("job 1008's archive: nested directories, spaces, UTF-8 and characters to encode", all(
        p in names for p in ("build/app.bin", "reports/junit.xml", "coverage/index.html", "docs/release notes.md",
                             "build/lib/plugins/http/handler.so", "docs/caf\u00e9 menu.txt",
                             "reports/100% a+b #1?.txt", "build/lib/")), names)
    before = (sha(h.archive(1001)), sha(h.archive(1008)))
    h.ctl.control("POST", "reset")
    t.check("archives: the same bytes after a reset", (sha(h.archive(1001)), sha(h.archive(1008))) == before)
    s, r = h.ctl.control("GET", "jobs/1009/artifacts")
    t.check("control: a job without an archive", s == 200 and r["archive"] is None and r["object_key"] is None, r)


def run_downloads(t, h):
    c = h.c
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts")
    t.check("archive download: 200, bytes, headers as GitLab's", s == 200 and b == h.archive(1008)
            and hs["content-type"] == "application/octet-stream" and hs["content-disposition"] == ATTACHMENT
            and hs["content-transfer-encoding"] == "binary" and hs["content-length"] == str(len(b))
            and hs["accept-ranges"] == "bytes" and "x-request-id" in hs, hs)
    s, hs, b = c.req("HEAD", P1 + "/jobs/1008/artifacts")
    t.check("archive HEAD: headers, no body", s == 200 and b == b"" and hs["content-length"] == str(len(h.archive(1008))))
    for name, path, token, status, want in (
            ("no archive", P1 + "/jobs/1009/artifacts", t.TOKEN, 404, MSG_NOT_FOUND),
            ("unknown job", P1 + "/jobs/424242/artifacts", t.TOKEN, 404, MSG_NOT_FOUND_LC),
            ("a bridge", P1 + "/jobs/1023/artifacts", t.TOKEN, 404, MSG_NOT_FOUND_LC),
            ("job id not an integer", P1 + "/jobs/x1/artifacts", t.TOKEN, 400, {"error": "job_id is invalid"}),
            ("no token", P1 + "/jobs/1008/artifacts", None, 401, {"message": "401 Unauthorized"}),
            ("job token, other project", P6 + "/jobs/6010/artifacts", t.JOB_TOKEN, 404,
             {"message": "404 Project Not Found"})):
        s, hs, b = c.get(path, token=token)
        t.check("archive download, %s: %d" % (name, status), s == status and json.loads(b) == want, (s, b[:100]))
    for name, token in (("job token", t.JOB_TOKEN), ("readonly token", {"PRIVATE-TOKEN": "glpat-readonly"}),
                        ("job_token query", None)):
        q = "?job_token=job-token-running" if token is None else ""
        s, hs, b = c.get(P1 + "/jobs/1001/artifacts" + q, token=token)
        t.check("archive download with the %s" % name, s == 200 and b == h.archive(1001), s)
    s, hs, b = c.get("/api/v4/projects/3/jobs/1008/artifacts")
    t.check("archive of the moved project: 301", s == 301 and hs["location"].endswith(P1 + "/jobs/1008/artifacts"), hs)


def run_files(t, h):
    c = h.c
    for path, ctype in (("reports/junit.xml", "text/xml; charset=utf-8"),
                        ("coverage/index.html", "text/html; charset=utf-8"),
                        ("coverage/assets/style.css", "text/css; charset=utf-8"),
                        ("build/app.bin", "application/octet-stream"),
                        ("build/lib/plugins/http/handler.so", "application/octet-stream"),
                        ("docs/release notes.md", "application/octet-stream"),
                        ("docs/caf\u00e9 menu.txt", "application/octet-stream"),
                        ("reports/100% a+b #1?.txt", "application/octet-stream")):
        s, hs, b = c.get(P1 + "/jobs/1008/artifacts/" + quote_path(path))
        base = path.rsplit("/", 1)[-1]
        t.check("file %s: its bytes, its type by name, an attachment" % path, s == 200
                and b == h.file(1008, path) and hs["content-type"] == ctype
                and hs["content-disposition"].encode("latin-1") == ('attachment; filename="%s"' % base).encode()
                and hs["content-length"] == str(len(b)), (s, hs))
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts/reports%2Fjunit.xml")
    t.check("file: an encoded slash is a slash", s == 200 and b == h.file(1008, "reports/junit.xml"), s)
    for name, path, status, ctype, body in (
            ("not in the archive", "reports/nope.xml", 404, "text/plain; charset=utf-8", b"404 page not found\n"),
            ("a directory", "reports", 404, "text/plain; charset=utf-8", b"404 page not found\n"),
            ("a directory with its slash", "reports/", 404, "text/plain; charset=utf-8", b"404 page not found\n"),
            ("not UTF-8", "reports/%FF.xml", 400, "application/json", b'{"message":"400 Bad request"}'),
            ("a NUL", "reports/a%00b", 400, "application/json", b'{"message":"400 Bad request"}')):
        s, hs, b = c.get(P1 + "/jobs/1008/artifacts/" + path)
        t.check("file %s: %d" % (name, status), s == status and hs["content-type"] == ctype and b == body, (s, b))
    s, hs, b = c.get(P1 + "/jobs/1009/artifacts/reports/junit.xml")
    t.check("file of a job without archive: 404 Not Found", s == 404 and json.loads(b) == MSG_NOT_FOUND, b)
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts/keep")
    t.check("GET .../artifacts/keep is a file named keep", s == 404 and b == b"404 page not found\n", (s, b))
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts/build/app.bin", token=t.JOB_TOKEN)
    t.check("file with the job token", s == 200 and b == h.file(1008, "build/app.bin"), s)


def run_by_ref(t, h):
    c = h.c
    for ref in ("release%2F1.2", "release/1.2", "release%2f1.2"):
        s, hs, b = c.get(P6 + "/jobs/artifacts/%s/download?job=pages" % ref)
        t.check("by ref %s: the newest successful pipeline's job (6005, not the failed 8999's)" % ref,
                s == 200 and b == h.archive(6005) and hs["content-disposition"] == ATTACHMENT, s)
    s, hs, b = c.get(P6 + "/jobs/artifacts/main/download?job=pages")
    t.check("by ref main: 6010 (9001), not the newer failed 9002's 6012 nor the older 6008",
            s == 200 and b == h.archive(6010) and b != h.archive(6012) and b != h.archive(6008), s)
    s, hs, b = c.get(P1 + "/jobs/artifacts/v1.2.0/download?job=compile")
    t.check("by ref on a tag", s == 200 and b == h.archive(1001), s)
    for name, path, status, want in (
            ("a job only an older pipeline has", "release%2F1.2/download?job=pdf", 404, MSG_NOT_FOUND_LC),
            ("a job without archive", "main/download?job=linkcheck", 404, MSG_NOT_FOUND_LC),
            ("an unknown ref", "nope/download?job=pages", 404, MSG_NOT_FOUND_LC),
            ("no job parameter", "main/download", 400, {"error": "job is missing"}),
            ("a file, no job parameter", "main/raw/public/index.html", 400, {"error": "job is missing"})):
        s, hs, b = c.get(P6 + "/jobs/artifacts/" + path)
        t.check("by ref, %s: %d" % (name, status), s == status and json.loads(b) == want, (s, b))
    s, hs, b = c.get(P1 + "/jobs/artifacts/main/download?job=compile")
    t.check("by ref main of project 1: its pipeline still runs, 404", s == 404 and json.loads(b) == MSG_NOT_FOUND_LC, s)
    for ref in ("release%2F1.2", "release/1.2"):
        s, hs, b = c.get(P6 + "/jobs/artifacts/%s/raw/public/build.txt?job=pages" % ref)
        t.check("raw by ref %s: the file of 6005, its type from its bytes" % ref, s == 200
                and b == h.file(6005, "public/build.txt") and hs["content-type"] == "text/plain; charset=utf-8"
                and hs["content-disposition"] == 'attachment; filename="build.txt"', (s, hs))
    for path, ctype in (("reports/junit.xml", "text/plain; charset=utf-8"), ("build/app.bin", "application/octet-stream")):
        s, hs, b = c.get(P1 + "/jobs/artifacts/v1.2.0/raw/%s?job=compile" % path)
        t.check("raw by ref %s: %s (sniffed, where by id the name decides)" % (path, ctype),
                s == 200 and b == h.file(1001, path) and hs["content-type"] == ctype, (s, hs.get("content-type")))
    s, hs, b = c.get(P6 + "/jobs/artifacts/release%2F1.2/raw/public/nope.txt?job=pages")
    t.check("raw by ref, not in the archive: 404 page not found", s == 404 and b == b"404 page not found\n", s)
    s, hs, b = c.get(P6 + "/jobs/artifacts/release%2F1.2/raw/public/a%00?job=pages")
    t.check("raw by ref, a NUL in the path: 400", s == 400 and json.loads(b) == {"message": "400 Bad request"}, s)


def run_keep_delete(t, h):
    c = h.c
    h.ctl.control("POST", "reset")
    s, hs, j = c.jget(P1 + "/jobs/1008")
    expires = j["artifacts_expire_at"]
    s, hs, j = c.jpost(P1 + "/jobs/1008/artifacts/keep")
    s2, hs2, j2 = c.jget(P1 + "/jobs/1008")
    t.check("keep: 200, the job with artifacts_expire_at cleared", s == 200 and expires is not None
            and j["id"] == 1008 and j["artifacts_expire_at"] is None and j2["artifacts_expire_at"] is None
            and j2["artifacts_file"]["size"] == len(h.archive(1008)), (s, j.get("artifacts_expire_at")))
    for name, path, token, status, want in (
            ("no archive", P1 + "/jobs/1009/artifacts/keep", t.TOKEN, 404, MSG_NOT_FOUND),
            ("unknown job", P1 + "/jobs/424242/artifacts/keep", t.TOKEN, 404, MSG_NOT_FOUND_LC),
            ("job token", P1 + "/jobs/1001/artifacts/keep", t.JOB_TOKEN, 403, {"message": "403 Forbidden"}),
            ("moved project", "/api/v4/projects/3/jobs/1001/artifacts/keep", t.TOKEN, 405,
             {"message": "405 Method Not Allowed"})):
        s, hs, b = c.post(path, token=token)
        t.check("keep, %s: %d" % (name, status), s == status and json.loads(b) == want, (s, b))
    s, hs, b = c.req("DELETE", P1 + "/jobs/1001/artifacts", token={"PRIVATE-TOKEN": "glpat-readonly"})
    t.check("DELETE with a read_api token: 403 insufficient_scope",
            s == 403 and json.loads(b)["error"] == "insufficient_scope", (s, b))
    s, hs, b = c.req("DELETE", P1 + "/jobs/1001/artifacts", token=t.JOB_TOKEN)
    t.check("DELETE with the job token: 403", s == 403 and json.loads(b) == {"message": "403 Forbidden"}, (s, b))
    s, hs, b = c.req("DELETE", P1 + "/jobs/1001/artifacts")
    s2, hs2, j = c.jget(P1 + "/jobs/1001")
    s3, hs3, b3 = c.get(P1 + "/jobs/1001/artifacts")
    t.check("DELETE job artifacts: 204 without body or type; the archive and artifacts gone, the log's stays",
            s == 204 and b == b"" and "content-type" not in hs and "artifacts_file" not in j
            and [a["file_type"] for a in j["artifacts"]] == ["trace"] and s3 == 404
            and json.loads(b3) == MSG_NOT_FOUND and h.info(1001)["archive"] is None, (s, hs, j["artifacts"]))
    s, hs, b = c.req("DELETE", P1 + "/jobs/1001/artifacts")
    t.check("DELETE job artifacts again: 204", s == 204, s)
    s, hs, b = c.req("DELETE", P1 + "/jobs/424242/artifacts")
    t.check("DELETE artifacts of an unknown job: 404", s == 404 and json.loads(b) == MSG_NOT_FOUND_LC, (s, b))
    s, hs, b = c.req("DELETE", P6 + "/artifacts")
    left = sorted(jid for jid in range(6001, 6016) if h.info(jid)["archive"] is not None)
    t.check("DELETE project artifacts: 202; kept where no newer successful pipeline of the ref followed",
            s == 202 and json.loads(b) == {"message": "202 Accepted"} and left == [6004, 6005, 6006, 6010, 6012],
            (s, b, left))
    h.ctl.control("POST", "config", {"keep_latest_artifacts": False})
    s, hs, b = c.req("DELETE", P1 + "/artifacts")
    t.check("DELETE project artifacts without keep_latest_artifacts: all gone",
            s == 202 and h.info(1008)["archive"] is None, s)
    h.ctl.control("POST", "reset")


def run_ranges(t, h):
    c = h.c
    full = h.archive(1008)
    n = len(full)
    for rng, status, part, crange in (
            ("bytes=100-", 206, full[100:], "bytes 100-%d/%d" % (n - 1, n)),
            ("bytes=10-19", 206, full[10:20], "bytes 10-19/%d" % n),
            ("bytes=-10", 206, full[-10:], "bytes %d-%d/%d" % (n - 10, n - 1, n)),
            ("bytes=0-999999999", 206, full, "bytes 0-%d/%d" % (n - 1, n)),
            ("bytes=%d-" % n, 416, b"invalid range: failed to overlap\n", "bytes */%d" % n),
            ("bytes=0-1,5-6", 200, full, None), ("bytes=9-2", 200, full, None), ("lines=1-", 200, full, None)):
        s, hs, b = c.get(P1 + "/jobs/1008/artifacts", headers={"Range": rng})
        t.check("archive Range %s: %d" % (rng, status), s == status and b == part
                and hs.get("content-range") == crange and hs["content-length"] == str(len(part)), (s, hs))
    app = h.file(1008, "build/app.bin")
    log = c.get(P1 + "/jobs/1008/trace")[2]
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts/build/app.bin", headers={"Range": "bytes=65000-"})
    s2, hs2, b2 = c.get(P1 + "/jobs/1008/trace", headers={"Range": "bytes=100-"})
    t.check("by default a file and the trace ignore Range, as Workhorse and GitLab: 200 whole",
            s == 200 and b == app and "accept-ranges" not in hs and s2 == 200 and b2 == log
            and "accept-ranges" not in hs2, (s, s2))
    s, r = h.ctl.control("POST", "config", {"ranges": {"file": True, "trace": True}})
    t.check("config ranges merges into the defaults", r["ranges"] == {"archive": True, "file": True, "trace": True,
                                                                      "storage": True}, r)
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts/build/app.bin", headers={"Range": "bytes=65000-"})
    t.check("ranges file: 206", s == 206 and b == app[65000:] and hs["content-range"] == "bytes 65000-65535/65536", hs)
    s, hs, b = c.get(P1 + "/jobs/1008/trace", headers={"Range": "bytes=100-"})
    t.check("ranges trace, bytes=100-: 206 with the rest of the log", s == 206 and b == log[100:]
            and hs["content-range"] == "bytes 100-%d/%d" % (len(log) - 1, len(log))
            and hs["content-type"] == "text/plain; charset=utf-8" and hs["accept-ranges"] == "bytes", hs)
    s, hs, b = c.get(P1 + "/jobs/1008/trace", headers={"Range": "bytes=%d-" % len(log)})
    t.check("ranges trace, past the end: 416", s == 416 and hs["content-range"] == "bytes */%d" % len(log), (s, hs))
    s, hs, b = c.get(P1 + "/jobs/1005/trace", headers={"Range": "bytes=0-"})
    t.check("ranges trace, an empty log: 416 bytes */0", s == 416 and hs["content-range"] == "bytes */0", (s, hs))
    s, log_req = h.ctl.control("GET", "requests")
    t.check("the Range header is in the request log", log_req[-1]["headers"].get("range") == "bytes=0-", log_req[-1])
    h.ctl.control("POST", "config", {"ranges": {"trace": False, "archive": False}})
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts", headers={"Range": "bytes=100-"})
    t.check("ranges archive false: 200 whole", s == 200 and b == full and "content-range" not in hs
            and "accept-ranges" not in hs, s)
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts/build/app.bin", headers={"Range": "bytes=65000-"})
    t.check("ranges: the others as they were", s == 206 and len(b) == 536, s)
    s, r = h.ctl.control("POST", "config", {"ranges": {"logs": False}})
    t.check("ranges: an unknown name is refused", s == 400 and "ranges" in r["error"], r)
    h.ctl.control("POST", "reset")


def run_storage(t, h):
    c = h.c
    h.ctl.control("POST", "config", {"object_storage": True})
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts")
    loc = hs.get("location", "")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    t.check("object storage: 302 to a signed URL on the storage listener", s == 302 and loc.startswith(h.storage + "/")
            and q.get("X-Amz-Expires") == ["600"] and len(q.get("X-Amz-Signature", [""])[0]) == 64
            and hs["content-type"] == "text/plain" and b == ("This resource has been moved temporarily to %s." % loc).encode(),
            (s, hs, b[:200]))
    h.ctl.control("DELETE", "requests")
    s, hs, b = h.follow(loc, {"X-Probe": "yes"})
    log = h.log()
    t.check("storage: the bytes, as S3 sends them", s == 200 and b == h.archive(1008)
            and hs["content-type"] == "application/octet-stream" and hs["server"] == "AmazonS3" and "etag" in hs
            and "x-request-id" not in hs, hs)
    t.check("storage requests are logged with their headers, listener storage", len(log) == 1
            and log[0]["listener"] == "storage" and log[0]["headers"]["x-probe"] == "yes"
            and log[0]["status"] == 200 and "private-token" not in log[0]["headers"], log)
    s, hs, b = h.follow(loc, {"Range": "bytes=1000-"})
    t.check("storage Range: 206", s == 206 and b == h.archive(1008)[1000:]
            and hs["content-range"].startswith("bytes 1000-"), (s, hs))
    s, hs, b = h.follow(loc, {"Range": "bytes=999999-"})
    t.check("storage Range past the end: 416 InvalidRange", s == 416 and b"<Code>InvalidRange</Code>" in b
            and hs["content-range"] == "bytes */%d" % len(h.archive(1008)) and hs["content-type"] == "application/xml",
            (s, b[:200]))
    bad = loc.replace(q["X-Amz-Signature"][0], "0" * 64)
    for name, url, method, code in (
            ("a wrong signature", bad, "GET", b"SignatureDoesNotMatch"),
            ("no signature", loc.split("?")[0], "GET", b"AccessDenied"),
            ("another method", loc, "DELETE", b"SignatureDoesNotMatch")):
        s, hs, b = h.follow(url, method=method)
        t.check("storage, %s: 403 %s" % (name, code.decode()), s == 403 and b"<Code>" + code + b"</Code>" in b
                and b.startswith(b"<?xml"), (s, b[:200]))
    s, hs, b = h.follow(loc.replace("/1008/", "/1001/"))
    t.check("storage, another key under the same signature: 403", s == 403, s)
    s, hs, b = c.req("HEAD", P1 + "/jobs/1008/artifacts")
    s2, hs2, b2 = h.follow(hs["location"], method="HEAD")
    s3, hs3, b3 = h.follow(hs["location"])
    t.check("object storage HEAD: a URL signed for HEAD", s == 302 and s2 == 200 and b2 == b""
            and hs2["content-length"] == str(len(h.archive(1008))) and s3 == 403, (s, s2, s3))
    s, hs, b = c.get(P6 + "/jobs/artifacts/main/download?job=pages")
    s2, hs2, b2 = h.follow(hs["location"])
    t.check("object storage by ref: 302 to the archive", s == 302 and s2 == 200 and b2 == h.archive(6010), (s, s2))
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts/reports/junit.xml")
    t.check("object storage: a single file is still served by GitLab itself", s == 200
            and b == h.file(1008, "reports/junit.xml"), s)
    h.ctl.control("POST", "config", {"object_storage_files": True})
    path = quote_path("docs/caf\u00e9 menu.txt")
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts/" + path)
    s2, hs2, b2 = h.follow(hs["location"])
    t.check("object_storage_files: files redirect too", s == 302 and s2 == 200
            and b2 == h.file(1008, "docs/caf\u00e9 menu.txt"), (s, s2))
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts/reports/nope.xml")
    t.check("object_storage_files: a missing file is still GitLab's 404", s == 404, s)
    h.ctl.control("POST", "config", {"storage_url_expires": 0})
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts")
    s2, hs2, b2 = h.follow(hs["location"])
    t.check("storage: an expired URL, 403 Request has expired", s2 == 403 and b"Request has expired" in b2, b2[:200])
    h.ctl.control("POST", "config", {"storage_url_expires": 600})
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts")
    h.ctl.control("POST", "jobs/1008", {"artifacts_files": {"new.txt": "replaced\n"}})
    s2, hs2, b2 = h.follow(hs["location"])
    t.check("storage: the URL of a replaced archive, 404 NoSuchKey", s2 == 404 and b"<Code>NoSuchKey</Code>" in b2, s2)
    s, st = h.ctl.control("GET", "stats")
    t.check("stats count storage requests apart", st["storage_requests"] >= 10, st)
    s, hs, b = t.Client(h.storage).get("/other-bucket/x", token=None)
    t.check("storage: another bucket, 404 NoSuchBucket", s == 404 and b"NoSuchBucket" in b, s)
    h.ctl.control("POST", "reset")


def run_faults(t, h):
    c = h.c
    full = h.archive(1008)
    h.ctl.control("POST", "config", {"object_storage": True})
    loc = c.get(P1 + "/jobs/1008/artifacts")[1]["location"]
    h.ctl.control("POST", "faults", {"listener": "storage", "kind": "reset_mid_body", "bytes": 1000})
    u = urllib.parse.urlsplit(loc)
    data, err = t.raw_get(loc, u.path + "?" + u.query)
    head, _, got = data.partition(b"\r\n\r\n")
    s, hs, rest = h.follow(loc, {"Range": "bytes=%d-" % len(got)})
    log = h.log()
    t.check("storage fault reset_mid_body, then the rest by Range: the whole archive",
            head.startswith(b"HTTP/1.1 200") and 0 < len(got) <= 1000 and s == 206 and got + rest == full
            and [(e["listener"], e["fault"]) for e in log[-2:]] == [("storage", "reset_mid_body"), ("storage", None)],
            (len(got), s, [(e["listener"], e["fault"]) for e in log[-2:]]))
    h.ctl.control("POST", "faults", {"listener": "api", "kind": "status", "status": 503, "count": -1})
    s, hs, b = h.follow(loc)
    s2, hs2, b2 = c.get(P1 + "/jobs/1008/artifacts")
    t.check("a fault for the api listeners leaves storage alone", s == 200 and s2 == 503, (s, s2))
    h.ctl.control("DELETE", "faults")
    h.ctl.control("POST", "faults", {"listener": "storage", "kind": "truncate", "bytes": 5000})
    err = t.error_of(h.follow, loc)
    t.check("storage fault truncate", isinstance(err, http.client.IncompleteRead) and len(err.partial) == 5000,
            repr(err)[:200])
    h.ctl.control("POST", "faults", {"listener": "storage", "kind": "status", "status": 503,
                                     "body": "<Error><Code>SlowDown</Code></Error>",
                                     "headers": {"Content-Type": "application/xml"}})
    s, hs, b = h.follow(loc)
    t.check("storage fault status", s == 503 and b"SlowDown" in b and hs["server"] == "AmazonS3", (s, hs))
    s, r = h.ctl.control("POST", "faults", {"listener": "elsewhere", "kind": "reset"})
    t.check("a fault for an unknown listener is refused", s == 400, r)
    h.ctl.control("POST", "config", {"object_storage": False})
    h.ctl.control("POST", "faults", {"path": "/jobs/1008/artifacts$", "kind": "reset_mid_body", "bytes": 777})
    data, err = t.raw_get(h.c.url, P1 + "/jobs/1008/artifacts")
    head, _, got = data.partition(b"\r\n\r\n")
    t.check("API fault reset_mid_body on the archive", head.startswith(b"HTTP/1.1 200") and 0 < len(got) <= 777
            and full.startswith(got), len(got))
    h.ctl.control("POST", "config", {"ranges": {"file": True}})
    h.ctl.control("POST", "faults", {"path": "/jobs/1008/artifacts/build/app.bin$", "kind": "drip", "chunk": 4096,
                                     "delay": 0.001})
    s, hs, b = c.get(P1 + "/jobs/1008/artifacts/build/app.bin", headers={"Range": "bytes=60000-"})
    t.check("API fault drip on a file Range", s == 206 and b == h.file(1008, "build/app.bin")[60000:], s)
    h.ctl.control("POST", "reset")


def stream_sha(client, path, headers=None, token=None):
    """GET path, reading the body in 1 MiB pieces -> (status, headers, length, sha256)."""
    conn = client._conn()
    conn.request("GET", path, headers=dict(token or {}, **(headers or {})))
    r = conn.getresponse()
    hsh = hashlib.sha256()
    n = 0
    while True:
        piece = r.read(1 << 20)
        if not piece:
            break
        n += len(piece)
        hsh.update(piece)
    return r.status, {k.lower(): v for k, v in r.getheaders()}, n, hsh.hexdigest()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_synthetic(t, h, pid):
    c = h.c
    for n in (100, 114, 3 * 1024 * 1024 + 7):
        s, j = h.ctl.control("POST", "jobs/1009", {"artifacts_size": n})
        s2, hs, b = c.get(P1 + "/jobs/1009/artifacts")
        z = zipfile.ZipFile(io.BytesIO(b))
        t.check("artifacts_size %d: a zip of exactly max(n, 114) bytes, one stored member" % n,
                s == 200 and s2 == 200 and len(b) == max(n, 114) and j["artifacts_file"]["size"] == len(b)
                and j["artifacts"][0] == {"file_type": "archive", "size": len(b), "filename": "artifacts.zip",
                                          "file_format": "zip"}
                and z.testzip() is None and z.namelist() == ["data.bin"]
                and z.getinfo("data.bin").compress_type == zipfile.ZIP_STORED, (s, j.get("artifacts_file"), len(b)))
    first = h.archive(1009)
    h.ctl.control("POST", "jobs/1009", {"artifacts_size": 3 * 1024 * 1024 + 7})
    t.check("artifacts_size: the same bytes again for the same job and size", h.archive(1009) == first)
    h.ctl.control("POST", "config", {"ranges": {"file": True}})
    s, hs, b = c.get(P1 + "/jobs/1009/artifacts/data.bin", headers={"Range": "bytes=1000000-1000099"})
    t.check("artifacts_size: its member by the file route, a Range of it", s == 206 and b == first[1000038:1000138],
            (s, len(b)))
    h.ctl.control("POST", "faults", {"path": "/jobs/1009/artifacts$", "kind": "truncate", "bytes": 2000000})
    err = t.error_of(c.get, P1 + "/jobs/1009/artifacts")
    t.check("truncate on a generated archive", isinstance(err, http.client.IncompleteRead)
            and err.partial == first[:2000000], repr(err)[:100])
    big = 256 * 1024 * 1024
    before = rss_kib(pid)
    s, j = h.ctl.control("POST", "jobs/1009", {"artifacts_size": big})
    s2, hs, n, digest = stream_sha(c, P1 + "/jobs/1009/artifacts", token=t.TOKEN)
    s3, hs3, n3, digest3 = stream_sha(c, P1 + "/jobs/1009/artifacts", {"Range": "bytes=%d-" % (big - 5)}, t.TOKEN)
    grew = rss_kib(pid) - before
    info = h.info(1009)
    t.check("artifacts_size 256 MiB: streamed whole, checksum as the control API's, and a Range at its end",
            s == 200 and s2 == 200 and n == big and digest == info["archive"]["sha256"] and s3 == 206 and n3 == 5,
            (s, s2, n, s3, n3))
    t.check("artifacts_size 256 MiB: the fake's memory grew by less than 32 MiB", grew < 32 * 1024, grew)
    for bad in ({"artifacts_size": -1}, {"artifacts_size": big + 1}, {"artifacts_size": "1"},
                {"artifacts_files": {"/abs": "x"}}, {"artifacts_files": {"a": 1}}, {"artifacts_remove": 1}):
        s, r = h.ctl.control("POST", "jobs/1009", bad)
        t.check("control %s: 400" % json.dumps(bad), s == 400 and "error" in r, (s, r))
    s, j = h.ctl.control("POST", "jobs/1016", {"artifacts_files": {"out/": "", "out/a b.txt": "hello\n"}})
    s2, hs, b = c.get(P1 + "/jobs/1016/artifacts/out/a%20b.txt")
    t.check("artifacts_files: an archive of those files", s == 200 and s2 == 200 and b == b"hello\n"
            and j["artifacts_expire_at"] is not None, (s, s2, b))
    s, j = h.ctl.control("POST", "jobs/1016", {"artifacts_remove": True})
    t.check("artifacts_remove", s == 200 and "artifacts_file" not in j and j["artifacts"] == [], j)
    s, hs, b = h.ctl.req("GET", "/__control/jobs/1008/artifacts/archive?offset=10&length=20", token=None)
    t.check("control archive offset/length", s == 200 and b == h.archive(1008)[10:30], (s, b))
    h.ctl.control("POST", "reset")


def run_cancel_and_order(t, h):
    c = h.c
    for name, path, body, headers in (
            ("query", "/jobs/1013/cancel?force=true", None, None),
            ("form body", "/jobs/1013/cancel", "force=true", {"Content-Type": "application/x-www-form-urlencoded"}),
            ("JSON body", "/jobs/1013/cancel", {"force": True}, None)):
        h.ctl.control("POST", "reset")
        s, hs, j = c.jpost(P1 + path, body, headers=headers)
        log = h.log()
        t.check("cancel force=true (%s): a canceling job canceled at once" % name, s == 201
                and j["status"] == "canceled" and j["finished_at"] is not None and log[-1]["method"] == "POST", (s, j))
    t.check("cancel force: recorded as sent", log[-1]["json"] == {"force": True}, log[-1])
    h.ctl.control("POST", "reset")
    s, hs, j = c.jpost(P1 + "/jobs/1012/cancel?force=true")
    t.check("cancel force=true on a running job: unchanged (GitLab forces only canceling)",
            s == 201 and j["status"] == "running", j.get("status"))
    s, hs, j = c.jpost(P1 + "/jobs/1013/cancel")
    t.check("cancel without force: a canceling job stays canceling", s == 201 and j["status"] == "canceling", j["status"])
    s, hs, j = c.jpost(P1 + "/jobs/1013/cancel?force=maybe")
    t.check("cancel force=maybe: 400", s == 400 and j == {"error": "force is invalid"}, (s, j))
    s, hs, rows = c.jget(P1 + "/jobs?order_by=id&sort=asc&per_page=5")
    s2, hs2, rows2 = c.jget(P1 + "/jobs?order_by=id&sort=asc&per_page=5&page=5")
    t.check("jobs sort=asc: oldest first, pages follow", s == 200 and [r["id"] for r in rows] == [1001, 1002, 1003,
            1004, 1005] and [r["id"] for r in rows2] == [1021, 1022] and "order_by=id" in hs["link"]
            and "sort=asc" in hs["link"], ([r["id"] for r in rows], [r["id"] for r in rows2]))
    s, hs, rows = c.jget(P1 + "/jobs?sort=desc&per_page=3")
    t.check("jobs sort=desc: newest first", [r["id"] for r in rows] == [1022, 1021, 1020], rows and rows[0]["id"])
    for q, err in (("sort=up", "sort does not have a valid value"),
                   ("order_by=name", "order_by does not have a valid value"),
                   ("order_by=name&sort=up", "order_by does not have a valid value, sort does not have a valid value")):
        s, hs, j = c.jget(P1 + "/jobs?" + q)
        t.check("jobs %s: 400" % q, s == 400 and j == {"error": err}, (s, j))
    s, hs, j = c.jget(P1 + "/jobs?pagination=keyset&sort=asc")
    t.check("keyset sort=asc: still 405", s == 405, s)
    h.ctl.control("POST", "reset")
