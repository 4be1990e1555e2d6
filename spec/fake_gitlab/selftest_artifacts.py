"""The selftest's checks of artifact archives (run by selftest.py, whose harness it is
handed: check, Client, raw_get, error_of)."""

import hashlib
import io
import json
import urllib.parse
import zipfile

P1 = "/api/v4/projects/1"


def run(t, primary, pid):
    c = t.Client(primary)
    ctl = t.Client(primary)
    h = Helpers(t, c, ctl)
    ctl.control("POST", "reset")
    run_seeds(t, h)
    run_synthetic(t, h, pid)
    c.close()
    ctl.close()


class Helpers:
    def __init__(self, t, c, ctl):
        self.t = t
        self.c = c
        self.ctl = ctl

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
    t.check("control: a job without an archive", s == 200 and r["archive"] is None, r)


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
    for n in (100, 114, 3 * 1024 * 1024 + 7):
        s, j = h.ctl.control("POST", "jobs/1009", {"artifacts_size": n})
        b = h.archive(1009)
        z = zipfile.ZipFile(io.BytesIO(b))
        t.check("artifacts_size %d: a zip of exactly max(n, 114) bytes, one stored member" % n,
                s == 200 and len(b) == max(n, 114) and j["artifacts_file"]["size"] == len(b)
                and j["artifacts"][0] == {"file_type": "archive", "size": len(b), "filename": "artifacts.zip",
                                          "file_format": "zip"}
                and z.testzip() is None and z.namelist() == ["data.bin"]
                and z.getinfo("data.bin").compress_type == zipfile.ZIP_STORED, (s, j.get("artifacts_file"), len(b)))
    first = h.archive(1009)
    h.ctl.control("POST", "jobs/1009", {"artifacts_size": 3 * 1024 * 1024 + 7})
    t.check("artifacts_size: the same bytes again for the same job and size", h.archive(1009) == first)
    t.check("artifacts_size: its member as the control API gives it", h.file(1009, "data.bin") == first[38:-76])
    big = 256 * 1024 * 1024
    before = rss_kib(pid)
    s, j = h.ctl.control("POST", "jobs/1009", {"artifacts_size": big})
    s2, hs, n, digest = stream_sha(h.ctl, "/__control/jobs/1009/artifacts/archive")
    grew = rss_kib(pid) - before
    info = h.info(1009)
    t.check("artifacts_size 256 MiB: streamed whole, checksum as the control API's",
            s == 200 and s2 == 200 and n == big and digest == info["archive"]["sha256"], (s, s2, n))
    t.check("artifacts_size 256 MiB: the fake's memory grew by less than 32 MiB", grew < 32 * 1024, grew)
    for bad in ({"artifacts_size": -1}, {"artifacts_size": big + 1}, {"artifacts_size": "1"},
                {"artifacts_files": {"/abs": "x"}}, {"artifacts_files": {"a": 1}}, {"artifacts_remove": 1}):
        s, r = h.ctl.control("POST", "jobs/1009", bad)
        t.check("control %s: 400" % json.dumps(bad), s == 400 and "error" in r, (s, r))
    s, j = h.ctl.control("POST", "jobs/1016", {"artifacts_files": {"out/": "", "out/a b.txt": "hello\n"}})
    t.check("artifacts_files: an archive of those files", s == 200 and h.file(1016, "out/a b.txt") == b"hello\n"
            and j["artifacts_expire_at"] is not None, (s, j.get("artifacts_file")))
    s, j = h.ctl.control("POST", "jobs/1016", {"artifacts_remove": True})
    t.check("artifacts_remove", s == 200 and "artifacts_file" not in j and j["artifacts"] == []
            and h.info(1016)["archive"] is None, j)
    s, hs, b = h.ctl.req("GET", "/__control/jobs/1008/artifacts/archive?offset=10&length=20", token=None)
    t.check("control archive offset/length", s == 200 and b == h.archive(1008)[10:30], (s, b))
    s, hs, b = h.ctl.req("GET", "/__control/jobs/1009/artifacts/file/nope", token=None)
    t.check("control file not in the archive: 404", s == 404, s)
    h.ctl.control("POST", "reset")
