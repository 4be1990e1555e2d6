"""Job artifact archives of the fake GitLab server: real zip files, made the same
way every time, and what the download routes need to serve them (bodies too big to
hold, byte ranges, content types).

Pure data and functions, no I/O: server.py does the HTTP. Archives never change once
made, so an answer can stream one after the lock is released.
"""

import gzip
import hashlib
import io
import itertools
import random
import struct
import zipfile
import zlib
from urllib.parse import quote

ARCHIVE_NAME = "artifacts.zip"
# Every entry's time: the fake's archives come out byte for byte the same each time.
ZIP_TIME = (2026, 11, 17, 9, 13, 20)
FILE_MODE = 0o100644 << 16
DIR_MODE = (0o040755 << 16) | 0x10
# Archives made by the control API are at most this big.
MAX_SYNTHETIC = 256 * 1024 * 1024
CHUNK = 1 << 20

_serial = itertools.count(1)


# --------------------------------------------------------------------------
# Bodies: bytes, or something with a length that reads any part of itself
# --------------------------------------------------------------------------

class Body:
    """A body read in parts. Subclasses give __len__ and _read(start, end) -> bytes;
    body[a:b] reads that part (keep it small), chunks() streams any part."""

    def chunks(self, start=0, end=None, size=CHUNK):
        end = len(self) if end is None else min(end, len(self))
        pos = start
        while pos < end:
            step = min(size, end - pos)
            yield self._read(pos, pos + step)
            pos += step

    def __getitem__(self, s):
        if not isinstance(s, slice) or s.step not in (None, 1):
            raise TypeError("a Body is read by slices")
        start, end, _ = s.indices(len(self))
        return self._read(start, end) if end > start else b""


class Slice(Body):
    """The part [start, end) of a body (bytes or Body), without a copy."""

    def __init__(self, body, start, end):
        self.body = body
        self.start = start
        self.end = end

    def __len__(self):
        return self.end - self.start

    def _read(self, a, b):
        return bytes(self.body[self.start + a:self.start + b])


def iter_body(body, start=0, end=None, size=CHUNK):
    """The bytes of body (bytes or Body) from start to end, in pieces of at most size."""
    if isinstance(body, Body):
        yield from body.chunks(start, end, size)
        return
    mv = memoryview(body)
    end = len(mv) if end is None else min(end, len(mv))
    for i in range(start, end, size):
        yield mv[i:min(i + size, end)]


class NoiseBody(Body):
    """n bytes that look random and are the same every time for the same seed: each
    1 MiB block is the one random block turned by an amount of its own, so any byte is
    found at once and nothing bigger than that block is ever held."""

    _block = None

    def __init__(self, n, seed):
        self.n = n
        self.seed = seed
        if NoiseBody._block is None:
            b = random.Random(20261117).randbytes(CHUNK)
            NoiseBody._block = b + b
        self._twice = memoryview(NoiseBody._block)

    def __len__(self):
        return self.n

    def _turn(self, i):
        return (i * 2654435761 + self.seed * 40503) % CHUNK

    def _read(self, a, b):
        out = []
        pos = a
        while pos < b:
            i, off = divmod(pos, CHUNK)
            k = self._turn(i) + off
            step = min(CHUNK - off, b - pos)
            out.append(self._twice[k:k + step])
            pos += step
        return b"".join(out)


class Joined(Body):
    """Pieces (bytes or Body) one after the other."""

    def __init__(self, parts):
        self.parts = parts
        self.starts = []
        n = 0
        for p in parts:
            self.starts.append(n)
            n += len(p)
        self.n = n

    def __len__(self):
        return self.n

    def _read(self, a, b):
        out = []
        for p, s in zip(self.parts, self.starts):
            lo, hi = max(a, s), min(b, s + len(p))
            if lo < hi:
                out.append(bytes(p[lo - s:hi - s]))
        return b"".join(out)


def digest(body, algo="sha256"):
    h = hashlib.new(algo)
    for piece in iter_body(body):
        h.update(piece)
    return h.hexdigest()


# --------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------

class Entry:
    __slots__ = ("path", "size", "is_dir", "content", "stored")

    def __init__(self, path, content, stored):
        self.path = path
        self.is_dir = path.endswith("/")
        self.content = b"" if content is None else content
        self.size = len(self.content)
        self.stored = stored


class Archive:
    """One artifacts.zip: its bytes (data), its entries by path, and a serial that
    differs for every archive made (object storage keys carry it)."""

    def __init__(self, data, entries):
        self.data = data
        self.size = len(data)
        self.entries = {e.path: e for e in entries}
        self.serial = next(_serial)
        self._sums = {}

    def sum(self, path=None):
        """The sha256 of the archive, or of one entry's bytes (kept once made)."""
        if path not in self._sums:
            self._sums[path] = digest(self.data if path is None else self.entries[path].content)
        return self._sums[path]

    def file(self, path):
        """The entry of that path, or None (directories are not files)."""
        e = self.entries.get(path)
        return None if e is None or e.is_dir else e

    def describe(self):
        return {
            "filename": ARCHIVE_NAME,
            "size": self.size,
            "sha256": self.sum(),
            "entries": [{"path": e.path, "directory": e.is_dir, "size": e.size,
                         "sha256": self.sum(e.path), "stored": e.stored}
                        for e in self.entries.values()],
        }


def build_zip(files):
    """files: [(path, content or None for a directory, stored?)] -> Archive. Fixed times and
    modes, so the same files give the same bytes."""
    buf = io.BytesIO()
    entries = []
    with zipfile.ZipFile(buf, "w") as zf:
        for path, content, stored in files:
            zi = zipfile.ZipInfo(path, date_time=ZIP_TIME)
            zi.create_system = 3
            if path.endswith("/"):
                zi.external_attr = DIR_MODE
                zf.writestr(zi, b"")
            else:
                zi.external_attr = FILE_MODE
                zi.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                zf.writestr(zi, content)
            entries.append(Entry(path, content, stored or path.endswith("/")))
    return Archive(buf.getvalue(), entries)


BLOB_NAME = "data.bin"
_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
# local header + central header (each with the name) + end of central directory
SYNTHETIC_OVERHEAD = _LOCAL.size + _CENTRAL.size + _END.size + 2 * len(BLOB_NAME)


def _dos_time():
    y, mo, d, h, mi, s = ZIP_TIME
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def synthetic_zip(n, seed):
    """An archive of exactly n bytes (SYNTHETIC_OVERHEAD at the least): one stored member,
    data.bin, of pseudo-random bytes from seed. Only the headers are held; the member's
    bytes are made as they are read."""
    payload = NoiseBody(max(0, n - SYNTHETIC_OVERHEAD), seed)
    crc = 0
    for piece in payload.chunks():
        crc = zlib.crc32(piece, crc)
    t, d = _dos_time()
    name = BLOB_NAME.encode()
    size = len(payload)
    local = _LOCAL.pack(b"PK\x03\x04", 10, 0, 0, t, d, crc, size, size, len(name), 0) + name
    central = _CENTRAL.pack(b"PK\x01\x02", (3 << 8) | 20, 10, 0, 0, t, d, crc, size, size,
                            len(name), 0, 0, 0, 0, FILE_MODE, 0) + name
    end = _END.pack(b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + size, 0)
    data = Joined([local, payload, central + end])
    entry = Entry(BLOB_NAME, Slice(data, len(local), len(local) + size), True)
    return Archive(data, [entry])


def metadata_size(archive):
    """The size of a metadata.gz as the runner would send beside this archive: the gzip of
    its entry list."""
    listing = "".join("%s\t%d\n" % (e.path, e.size) for e in archive.entries.values()).encode()
    return len(gzip.compress(listing, mtime=0))


# --------------------------------------------------------------------------
# The seeded archives (jobs 1001, 1008 and project 6's)
# --------------------------------------------------------------------------

def _noise(n, seed):
    return random.Random(seed).randbytes(n)


def _junit(suite, cases, failures=()):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<testsuites name="busted" tests="%d" failures="%d">' % (len(cases), len(failures)),
             '  <testsuite name="%s" tests="%d" failures="%d">' % (suite, len(cases), len(failures))]
    for i, name in enumerate(cases):
        if name in failures:
            lines.append('    <testcase classname="%s" name="%s" time="0.%03d">' % (suite, name, 40 + i))
            lines.append('      <failure message="expected 3, got 4">spec/parse_spec.lua:42</failure>')
            lines.append('    </testcase>')
        else:
            lines.append('    <testcase classname="%s" name="%s" time="0.%03d"/>' % (suite, name, 40 + i))
    lines += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(lines).encode()


def _coverage_html(title, percent):
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>"
            "<link rel=\"stylesheet\" href=\"assets/style.css\"></head>\n"
            "<body><h1>%s</h1><p class=\"total\">%.1f%% of lines covered</p></body></html>\n"
            % (title, title, percent)).encode()


def _shared_object(n, seed):
    """Looks like a shared object: an ELF header, then mostly zeros (it compresses)."""
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + _noise(64, seed) + b"\x00" * (n - 80)


def archive_1001():
    return build_zip([
        ("build/", None, False),
        ("build/app.bin", _noise(4096, 1001), True),
        ("build/VERSION", b"1.2.0\n", False),
        ("reports/", None, False),
        ("reports/junit.xml", _junit("client", ["builds urls", "encodes project paths", "parses pages"]), False),
        ("coverage/", None, False),
        ("coverage/index.html", _coverage_html("Coverage for v1.2.0", 91.4), False),
        ("docs/", None, False),
        ("docs/release notes.md", b"# Release notes\n\n- v1.2.0: retry budget for the job poller\n", False),
    ])


def archive_1008():
    return build_zip([
        ("build/", None, False),
        ("build/app.bin", _noise(65536, 1008), True),
        ("build/lib/", None, False),
        ("build/lib/core.so", _shared_object(20000, 1008), False),
        ("build/lib/plugins/", None, False),
        ("build/lib/plugins/http/", None, False),
        ("build/lib/plugins/http/handler.so", _shared_object(6000, 2008), False),
        ("reports/", None, False),
        ("reports/junit.xml", _junit("client", ["builds urls", "encodes project paths",
                                                "parser handles nested arrays", "retries on 429"]), False),
        ("reports/100% a+b #1?.txt", b"a name that must be percent-encoded: % + # ?\n", False),
        ("coverage/", None, False),
        ("coverage/index.html", _coverage_html("Coverage for main", 87.5), False),
        ("coverage/assets/", None, False),
        ("coverage/assets/style.css", b"body { font-family: sans-serif; }\n.total { font-weight: bold; }\n", False),
        ("docs/", None, False),
        ("docs/release notes.md", b"# Release notes\n\n- main: retry budget, keyset pages\n", False),
        ("docs/caf\u00e9 menu.txt", "caf\u00e9 cr\u00e8me na\u00efve \u2013 UTF-8 text\n".encode(), False),
    ])


def archive_docs(job_id, ref, pipeline_id, name):
    """The archive of a job of project 6 (acme/platform/docs): names the job, its pipeline
    and ref, so a spec can tell which job's archive it got."""
    stamp = "%s job %d of pipeline %d on %s\n" % (name, job_id, pipeline_id, ref)
    files = [("public/", None, False),
             ("public/index.html", ("<!DOCTYPE html>\n<html><body><h1>acme docs</h1><p>%s</p></body></html>\n"
                                    % stamp.strip()).encode(), False),
             ("public/build.txt", stamp.encode(), False)]
    if name == "pdf":
        files = [("manual/", None, False), ("manual/manual.pdf", b"%PDF-1.4\n" + _noise(2000, job_id), True),
                 ("manual/build.txt", stamp.encode(), False)]
    return build_zip(files)


def files_archive(files):
    """An archive of {path: text} as given (a path ending in / is a directory)."""
    out = []
    for path, text in files.items():
        out.append((path, None if path.endswith("/") else text.encode("utf-8"), False))
    return build_zip(out)


# --------------------------------------------------------------------------
# Ranges, content types, file names
# --------------------------------------------------------------------------

UNSATISFIABLE = "unsatisfiable"


def parse_range(header, length):
    """A Range header against a body of length bytes -> None (serve it whole: no header,
    not bytes=, several ranges, or malformed, which RFC 9110 says to ignore),
    UNSATISFIABLE (416), or (start, end) with end exclusive."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, sep, last = spec.strip().partition("-")
    if not sep:
        return None
    first, last = first.strip(), last.strip()
    if not (first.isdigit() or first == "") or not (last.isdigit() or last == "") or first == last == "":
        return None
    if first == "":
        n = int(last)
        if n == 0 or length == 0:
            return UNSATISFIABLE
        return (max(0, length - n), length)
    start = int(first)
    end = length if last == "" else int(last) + 1
    if last != "" and end <= start:
        return None
    if start >= length:
        return UNSATISFIABLE
    return (start, min(end, length))


# What Go's mime.TypeByExtension knows without system files (Workhorse serves entries so).
GO_TYPES = {
    ".avif": "image/avif", ".css": "text/css; charset=utf-8", ".gif": "image/gif",
    ".htm": "text/html; charset=utf-8", ".html": "text/html; charset=utf-8", ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg", ".js": "text/javascript; charset=utf-8", ".json": "application/json",
    ".mjs": "text/javascript; charset=utf-8", ".pdf": "application/pdf", ".png": "image/png",
    ".svg": "image/svg+xml", ".wasm": "application/wasm", ".webp": "image/webp",
    ".xml": "text/xml; charset=utf-8",
}


def type_by_extension(path):
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return GO_TYPES.get(name[dot:].lower(), "application/octet-stream") if dot > 0 else "application/octet-stream"


_SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF87a", "image/gif"),
               (b"GIF89a", "image/gif"), (b"\xff\xd8\xff", "image/jpeg"), (b"PK\x03\x04", "application/zip"),
               (b"\x1f\x8b\x08", "application/x-gzip"))
_BINARY = frozenset(itertools.chain(range(0, 9), (11,), range(14, 27), range(28, 32)))


def sniffed_type(head):
    """Workhorse's content type for a by-ref raw file: the type its first 512 bytes show,
    any text made text/plain (it never lets HTML or XML render)."""
    head = bytes(head[:512])
    for sig, ctype in _SIGNATURES:
        if head.startswith(sig):
            return ctype
    if any(b in _BINARY for b in head):
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


def rails_attachment(filename):
    """Content-Disposition as Rails formats it for a download."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("\\", "\\\\").replace('"', '\\"')
    return "attachment; filename=\"%s\"; filename*=UTF-8''%s" % (ascii_name, quote(filename, safe="!#$&+^`|"))


def workhorse_attachment(path):
    """Content-Disposition as Workhorse sends it for one entry: the base name in quotes, raw
    UTF-8 (the header text here carries those bytes one char each)."""
    base = path.rsplit("/", 1)[-1].replace("\\", "\\\\").replace('"', '\\"')
    return 'attachment; filename="%s"' % base.encode("utf-8").decode("latin-1")
