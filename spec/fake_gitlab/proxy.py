#!/usr/bin/env python3
"""A small forward HTTP proxy for the test suite (standard library only).

    python3 spec/fake_gitlab/proxy.py [--url-file PATH] [--host 127.0.0.1] [--port N]
                                      [--parent-pid PID]

Relays plain requests in absolute form (`GET http://host:port/path HTTP/1.1`), with
keep-alive on both sides, and opens CONNECT tunnels (what a client sends for https).
Each relayed request and each tunnel is recorded; the control API (origin-form
requests to the proxy itself, under /__proxy) reads and clears that record and sets
the proxy's options. Prints `READY <url>` once it accepts connections. See README.md
next to this file.
"""

import argparse
import base64
import http.client
import json
import os
import select
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Never relayed: they speak of one hop only (RFC 9110, 7.6.1), and the proxy's own.
HOP_HEADERS = frozenset(("connection", "proxy-connection", "keep-alive", "proxy-authorization",
                         "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "expect"))
DEFAULT_CONFIG = {"auth": None, "hosts": {}}
PIECE = 65536


def jdump(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.conn_seq = 0
        self.reset()

    def reset(self):
        self.log = []
        self.config = json.loads(json.dumps(DEFAULT_CONFIG))
        self.connections = 0

    def record(self, handler, method, target, status):
        entry = {"method": method, "target": target, "status": status,
                 "headers": {k.lower(): v for k, v in handler.headers.items()},
                 "connection": handler.conn_id, "time": time.time()}
        with self.lock:
            self.log.append(entry)
        return entry


def validate_config(data):
    if not isinstance(data, dict) or set(data) - set(DEFAULT_CONFIG):
        return "config must be an object with keys among %s" % ", ".join(sorted(DEFAULT_CONFIG))
    auth = data.get("auth")
    if auth is not None and (not isinstance(auth, str) or ":" not in auth):
        return "auth must be null or \"user:password\""
    hosts = data.get("hosts", {})
    if not isinstance(hosts, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in hosts.items()):
        return "hosts must be {\"name\": \"address\", ...}"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-proxy"
    sys_version = ""

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        st = self.server.state
        with st.lock:
            st.conn_seq += 1
            st.connections += 1
            self.conn_id = st.conn_seq
        self.upstream = {}  # (host, port) -> HTTPConnection, kept alive for this client connection

    def finish(self):
        for conn in self.upstream.values():
            conn.close()
        try:
            BaseHTTPRequestHandler.finish(self)
        except OSError:
            pass

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def address(self, host, port):
        """Where a name goes: the config's hosts first (names no resolver knows), else itself."""
        with self.server.state.lock:
            return self.server.state.config["hosts"].get(host, host), port

    def refused(self, method, target):
        """A 407 when the config asks for credentials this request lacks, else None."""
        st = self.server.state
        with st.lock:
            auth = st.config["auth"]
        if auth is None:
            return False
        want = "Basic " + base64.b64encode(auth.encode()).decode()
        if self.headers.get("Proxy-Authorization", "") == want:
            return False
        st.record(self, method, target, 407)
        self.answer(407, b'{"error":"proxy authentication required"}',
                    headers=[("Proxy-Authenticate", 'Basic realm="fake-proxy"')])
        return True

    # ---- CONNECT: a tunnel --------------------------------------------

    def do_CONNECT(self):
        target = self.path
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            self.close_connection = True
            return self.answer(400, b'{"error":"CONNECT host:port expected"}')
        if self.refused("CONNECT", target):
            return
        try:
            up = socket.create_connection(self.address(host.strip("[]"), int(port)), timeout=10)
        except OSError as e:
            self.server.state.record(self, "CONNECT", target, 502)
            return self.answer(502, jdump({"error": "cannot reach %s: %s" % (target, e)}))
        entry = self.server.state.record(self, "CONNECT", target, 200)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        up.settimeout(None)
        sent = self.tunnel(up)
        with self.server.state.lock:
            entry["bytes_up"], entry["bytes_down"] = sent

    def tunnel(self, up):
        """Relays bytes both ways until either side closes; -> (bytes up, bytes down)."""
        client = self.connection
        sent = {client: 0, up: 0}
        other = {client: up, up: client}
        # bytes the client sent right after its CONNECT may already sit in rfile's buffer
        client.setblocking(False)
        try:
            early = self.rfile.read1(PIECE) or b""
        except (BlockingIOError, OSError):
            early = b""
        client.setblocking(True)
        try:
            if early:
                up.sendall(early)
                sent[client] += len(early)
            while True:
                ready, _, _ = select.select([client, up], [], [], 300)
                if not ready:
                    break
                for s in ready:
                    data = s.recv(PIECE)
                    if not data:
                        return sent[client], sent[up]
                    other[s].sendall(data)
                    sent[s] += len(data)
        except OSError:
            pass
        finally:
            up.close()
        return sent[client], sent[up]

    # ---- plain requests ------------------------------------------------

    def do_GET(self):
        if self.path.startswith("/__proxy"):
            return self.control()
        u = urlsplit(self.path)
        if u.scheme != "http" or not u.hostname:
            self.close_connection = True
            return self.answer(400, b'{"error":"absolute http:// URL expected (https goes through CONNECT)"}')
        body = self.read_body()  # before any answer, so that the connection stays in step
        if self.refused(self.command, self.path):
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        if body or self.headers.get("Content-Length") is not None:
            headers["Content-Length"] = str(len(body))
        target = u.path or "/"
        if u.query:
            target += "?" + u.query
        key = (u.hostname, u.port or 80)
        try:
            resp = self.relay(key, target, headers, body)
        except (OSError, http.client.HTTPException) as e:
            self.upstream.pop(key, None)
            self.server.state.record(self, self.command, self.path, 502)
            return self.answer(502, jdump({"error": "cannot reach %s:%d: %s" % (key + (e,))}))
        self.server.state.record(self, self.command, self.path, resp.status)
        self.pass_on(resp)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def relay(self, key, target, headers, body):
        """Sends the request upstream on this client connection's kept-alive connection to key
        (made again once if the server had closed it)."""
        for attempt in (1, 2):
            conn = self.upstream.get(key)
            if conn is None:
                conn = http.client.HTTPConnection(*self.address(*key), timeout=60)
                self.upstream[key] = conn
            try:
                conn.request(self.command, target, body=body or None, headers=headers)
                return conn.getresponse()
            except (ConnectionError, http.client.RemoteDisconnected):
                conn.close()
                del self.upstream[key]
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def pass_on(self, resp):
        """The upstream answer to the client: its status and headers, the body streamed when
        its length is known, else read whole and sent with one."""
        length = resp.getheader("Content-Length")
        body = None
        if self.command == "HEAD" or resp.status in (204, 304):
            body = b""
        elif length is None:
            body = resp.read()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_HEADERS and not (body is not None and k.lower() == "content-length"):
                self.send_header(k, v)
        if body is not None and self.command != "HEAD" and resp.status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body is not None:
            self.wfile.write(body)
        else:
            left = int(length)
            while left > 0:
                piece = resp.read(min(PIECE, left))
                if not piece:
                    self.close_connection = True  # cut short upstream: so is this answer
                    break
                self.wfile.write(piece)
                left -= len(piece)
        if resp.will_close:
            resp.close()

    # ---- control -------------------------------------------------------

    def control(self):
        st = self.server.state
        path = self.path.split("?", 1)[0].rstrip("/")
        raw = self.read_body()
        try:
            data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except ValueError as e:
            return self.answer(400, jdump({"error": "invalid JSON body: %s" % e}))
        verb = (self.command, path)
        with st.lock:
            if verb == ("GET", "/__proxy/requests"):
                return self.answer(200, jdump(st.log))
            if verb == ("DELETE", "/__proxy/requests"):
                st.log = []
                return self.answer(200, b"{}")
            if verb == ("GET", "/__proxy/stats"):
                return self.answer(200, jdump({
                    "requests": sum(1 for e in st.log if e["method"] != "CONNECT"),
                    "connects": sum(1 for e in st.log if e["method"] == "CONNECT"),
                    "connections": st.connections}))
            if verb == ("POST", "/__proxy/reset"):
                st.reset()
                return self.answer(200, b"{}")
            if verb == ("GET", "/__proxy/config"):
                return self.answer(200, jdump(st.config))
            if verb == ("POST", "/__proxy/config"):
                err = validate_config(data)
                if err:
                    return self.answer(400, jdump({"error": err}))
                st.config.update(data)
                return self.answer(200, jdump(st.config))
        return self.answer(404, jdump({"error": "unknown control route %s %s" % verb}))


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, state):
        self.state = state
        ThreadingHTTPServer.__init__(self, addr, Handler)

    def server_bind(self):
        # not HTTPServer's: its getfqdn() may do a slow reverse lookup
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (OSError, ValueError)):
            return
        ThreadingHTTPServer.handle_error(self, request, client_address)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Forward HTTP proxy for the tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--url-file")
    ap.add_argument("--parent-pid", type=int)
    args = ap.parse_args(argv)

    state = State()
    server = Listener((args.host, args.port), state)
    url = "http://%s:%d" % (args.host, server.server_address[1])
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: state.stop.set())
    signal.signal(signal.SIGINT, lambda *_: state.stop.set())
    if args.url_file:
        tmp = "%s.%d.tmp" % (args.url_file, os.getpid())
        with open(tmp, "w") as fh:
            fh.write(url + "\n")
        os.replace(tmp, args.url_file)
    sys.stdout.write("READY %s\n" % url)
    sys.stdout.flush()
    while not state.stop.wait(0.5):
        if args.parent_pid:
            try:
                os.kill(args.parent_pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
