"""Object storage of the fake GitLab: the signed URLs the API sends downloads to when
config object_storage is on (as GitLab.com does), and the answers of the storage
listener, which behaves like an S3 bucket: it serves an object only to a request whose
query carries a valid, unexpired signature, and says what is wrong in S3's XML.

No I/O here; the caller holds the store's lock.
"""

import calendar
import email.utils
import hashlib
import hmac
import os
import time
from urllib.parse import quote, unquote

import archives

BUCKET = "gitlab-artifacts"
ACCESS_KEY = "AKIAFAKEGITLABSTORE0"
REGION = "us-east-1"
SECRET = b"fake-gitlab-object-storage-secret"
SIGNATURE = "X-Amz-Signature"
ENTRIES = "entries"


def object_key(job, archive, entry=None):
    """Where the archive lies in the bucket, the way GitLab lays out artifacts (the serial
    stands for the artifact's id: a replaced archive is a new object); entry: one file of it."""
    h = hashlib.sha256(str(job.project_id).encode()).hexdigest()
    day = time.strftime("%Y_%m_%d", time.gmtime(job.created_at or 0))
    key = "%s/%s/%s/%s/%d/%d/%s" % (h[:2], h[2:4], h, day, job.id, archive.serial, archives.ARCHIVE_NAME)
    if entry is not None:
        key += "/%s/%s" % (ENTRIES, entry)
    return key


def _path_of(key):
    return "/%s/%s" % (BUCKET, "/".join(quote(seg, safe="-._~") for seg in key.split("/")))


def _string_to_sign(method, path, pairs, host):
    """What the signature covers: method, path (each segment decoded then encoded one way,
    so any fair encoding of it passes), host and the query but the signature itself."""
    canon = "/".join(quote(unquote(seg), safe="-._~") for seg in path.split("/"))
    query = "&".join("%s=%s" % (quote(k, safe="-._~"), quote(v, safe="-._~"))
                     for k, v in sorted(pairs) if k != SIGNATURE)
    return "\n".join((method, canon, query, "host:" + host.lower())).encode()


def _sign(text):
    return hmac.new(SECRET, text, hashlib.sha256).hexdigest()


def signed_url(base, method, key, now, expires):
    """base: the storage listener's URL. The query is the one S3 presigning gives."""
    host = base.split("://", 1)[1]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    pairs = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
             ("X-Amz-Credential", "%s/%s/%s/s3/aws4_request" % (ACCESS_KEY, stamp[:8], REGION)),
             ("X-Amz-Date", stamp), ("X-Amz-Expires", str(int(expires))), ("X-Amz-SignedHeaders", "host")]
    path = _path_of(key)
    pairs.append((SIGNATURE, _sign(_string_to_sign(method, path, pairs, host))))
    return base + path + "?" + "&".join("%s=%s" % (k, quote(v, safe="-._~")) for k, v in pairs)


def _error(status, code, message, extra=()):
    rid = os.urandom(8).hex().upper()
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>' % (code, message)]
    parts += ["<%s>%s</%s>" % (k, v, k) for k, v in extra]
    parts.append("<RequestId>%s</RequestId><HostId>%s</HostId></Error>" % (rid, os.urandom(24).hex()))
    return status, "application/xml", "".join(parts).encode(), [("x-amz-request-id", rid)]


def _denied(pairs, now):
    """None when the query's signature fields are there and unexpired, else the refusal."""
    q = dict(pairs)
    if SIGNATURE not in q or "X-Amz-Date" not in q or "X-Amz-Expires" not in q:
        return _error(403, "AccessDenied", "Access Denied")
    try:
        signed = calendar.timegm(time.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
        expires = int(q["X-Amz-Expires"])
    except (ValueError, OverflowError):
        return _error(403, "AccessDenied", "Access Denied")
    if now >= signed + expires:
        return _error(403, "AccessDenied", "Request has expired", [
            ("X-Amz-Expires", expires), ("Expires", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(signed + expires))),
            ("ServerTime", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))])
    return None


def _find(store, key):
    """key -> (body, content type) of the object, or None."""
    parts = key.split("/")
    if len(parts) < 7 or parts[6] != archives.ARCHIVE_NAME or not (parts[4].isdigit() and parts[5].isdigit()):
        return None
    job = store.jobs.get(int(parts[4]))
    archive = job.archive if job is not None else None
    if archive is None or archive.serial != int(parts[5]) or object_key(job, archive) != "/".join(parts[:7]):
        return None
    if len(parts) == 7:
        return archive.data, "application/octet-stream"
    if parts[7] != ENTRIES or len(parts) < 9:
        return None
    path = "/".join(parts[8:])
    e = archive.file(path)
    return (e.content, archives.type_by_extension(path)) if e is not None else None


def answer(store, method, raw_path, pairs, hdrs, now, ranges):
    """One request to the storage listener -> (status, content type, body, headers)."""
    segs = raw_path.split("/")
    if len(segs) < 2 or segs[1] != BUCKET:
        return _error(404, "NoSuchBucket", "The specified bucket does not exist",
                      [("BucketName", unquote(segs[1]) if len(segs) > 1 else "")])
    refused = _denied(pairs, now) if len(segs) > 2 else _error(403, "AccessDenied", "Access Denied")
    if refused:
        return refused
    text = _string_to_sign(method, raw_path, pairs, hdrs.get("host", ""))
    if not hmac.compare_digest(_sign(text), dict(pairs)[SIGNATURE]):
        return _error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                      "signature you provided. Check your key and signing method.")
    key = "/".join(unquote(s) for s in segs[2:])
    found = _find(store, key)
    if found is None:
        return _error(404, "NoSuchKey", "The specified key does not exist.", [("Key", key)])
    body, ctype = found
    rid = os.urandom(8).hex().upper()
    headers = [("x-amz-id-2", os.urandom(24).hex()), ("x-amz-request-id", rid),
               ("Last-Modified", email.utils.formatdate(calendar.timegm(archives.ZIP_TIME + (0, 0, 0)), usegmt=True)),
               ("ETag", '"%s"' % hashlib.md5(("%s:%d" % (key, len(body))).encode()).hexdigest())]
    if not ranges:
        return 200, ctype, body, headers
    headers.append(("Accept-Ranges", "bytes"))
    r = archives.parse_range(hdrs.get("range"), len(body))
    if r is None:
        return 200, ctype, body, headers
    if r == archives.UNSATISFIABLE:
        status, xtype, xml, xh = _error(416, "InvalidRange", "The requested range is not satisfiable",
                                        [("RangeRequested", hdrs.get("range")), ("ActualObjectSize", len(body))])
        return status, xtype, xml, xh + [("Content-Range", "bytes */%d" % len(body))]
    start, end = r
    headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end - 1, len(body))))
    return 206, ctype, archives.Slice(body, start, end), headers
