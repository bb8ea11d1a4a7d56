"""The HTTP(S) server of the API stand-in, ``KubeApiStandin`` (its Python face) and the CLI.

Requests are parsed here and answered by ``api.Api``; every request is
recorded in a request log (see docs/standins.md).
"""
from __future__ import annotations

import argparse
import base64
import collections
import hmac
import json
import os
import re
import secrets
import signal
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from .api import Api
from .kinds import ApiError, clone
from .store import Store
from .tls import ensure_tls


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "maia-kube-api-standin"
    disable_nagle_algorithm = True  # else every response waits ~40 ms for a delayed ACK

    def log_message(self, fmt, *args):  # quiet: the request log is the record
        pass

    def _send(self, code, body, warnings=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        for text in warnings:  # RFC 7234 warn-code 299 ("miscellaneous persistent warning"), as kube-apiserver
            self.send_header("Warning", "299 - " + json.dumps(text))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self):
        server = self.server.standin
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        method = self.command
        code, payload, warnings = 500, None, []
        try:
            if parts in (["healthz"], ["livez"], ["readyz"]):
                code, payload = 200, None
                data = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(data)
                return
            if parts != ["version"] and not server.authorized(self.headers.get("Authorization")):
                raise ApiError(401, "Unauthorized")
            if parts[:2] == ["_standin", "requests"]:
                log = server.request_log_copy()
                if method == "DELETE":
                    server.reset_requests()
                self._send(200, {"requests": log})
                return
            with server.store.lock:
                payload = server.api.discovery(parts) if method == "GET" else None
            if payload is not None:
                code = 200
            else:
                code, payload = server.api.handle(method, parts, query, body, self.headers.get("Content-Type"),
                                                  self.headers.get("User-Agent"), warnings)
        except ApiError as exc:
            code, payload = exc.code, exc.status()
        except Exception as exc:  # pylint: disable=broad-except
            code = 500
            payload = ApiError(500, f"stand-in internal error: {type(exc).__name__}: {exc}",
                               reason="InternalError").status()
        # recorded before the answer goes out, so a client never sees its request missing from the log
        server.record(method, url.path, url.query, code, self.headers.get("Content-Type"),
                      self.headers.get("User-Agent"), round((time.monotonic() - started) * 1000, 1))
        self._send(code, payload, warnings if code < 400 else ())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_context = None

    def finish_request(self, request, client_address):
        # TLS handshake in the request's own thread, so a slow client cannot block accept()
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return None
        try:
            return super().finish_request(conn, client_address)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):  # client hang-ups are not our business
        pass


class KubeApiStandin:
    """The stand-in server. Use as a context manager, or ``start()``/``stop()``.

    host, port
        where to listen (port 0: a free port)
    token
        the bearer token clients must send (random when not given)
    tls_dir
        where the CA (``ca.crt``/``ca.key``, reused when present), the server
        certificate and the kubeconfig are written (a temporary directory when not given)
    tls
        False serves plain HTTP (the kubeconfig then has an http:// server)
    server_address
        host (or host:port) written into the kubeconfig, when clients reach the
        server under another address than ``host`` (e.g. ``--host 0.0.0.0``)
    crd_establish_delay
        seconds before a new CRD becomes Established and served
    """

    def __init__(self, host="127.0.0.1", port=0, token=None, tls_dir=None, tls=True,
                 server_address=None, crd_establish_delay=0.0, extra_sans=(), state_file=None):
        self.host, self.port = host, int(port)
        self.token = token or secrets.token_urlsafe(24)
        self._tmp = None
        if tls_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="maia-kube-api-")
            tls_dir = self._tmp.name
        self.tls_dir = Path(tls_dir)
        self.tls = tls
        self.server_address = server_address
        self.extra_sans = list(extra_sans)
        self.store = Store(crd_establish_delay=crd_establish_delay)
        self.state_file = Path(state_file) if state_file else None
        self._saved_rv = None
        self._stopping = threading.Event()
        self._saver = None
        self.api = None
        self.request_log = []
        self._log_lock = threading.Lock()
        self._httpd = None
        self._thread = None
        self.kubeconfig = None

    # -- request log
    def record(self, method, path, query, status, content_type, user_agent, ms=None):
        with self._log_lock:
            self.request_log.append({"method": method, "path": path, "query": query, "status": status,
                                     "content_type": content_type, "user_agent": user_agent, "ms": ms})

    def request_log_copy(self):
        with self._log_lock:
            return list(self.request_log)

    def request_counts(self, user_agent_prefix=None):
        """Counter of "METHOD path" over the request log (optionally only one client's requests)."""
        return collections.Counter(
            f"{e['method']} {e['path']}" for e in self.request_log_copy()
            if user_agent_prefix is None or (e["user_agent"] or "").startswith(user_agent_prefix))

    def reset_requests(self):
        with self._log_lock:
            self.request_log.clear()

    def authorized(self, header):
        if not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[len("Bearer "):].strip().encode(), self.token.encode())

    # -- direct access for tests (no request is logged)
    def get_object(self, api_version, kind, name, namespace=None):
        """The stored object (a copy) or None, without going through HTTP."""
        group, _, version = api_version.rpartition("/")
        with self.store.lock:
            for t in self.store.types.values():
                if t.group == group and t.kind == kind:
                    obj = self.store.objects.get((group, t.plural, namespace if t.namespaced else None, name))
                    return clone(Api.out(obj, t, version)) if obj else None
        return None

    # -- lifecycle
    @property
    def url(self):
        host = self.server_address or self.host
        if ":" in host and not host.startswith("[") and host.count(":") > 1:
            host = f"[{host}]"
        if not re.search(r":\d+$", host):
            host = f"{host}:{self.port}"
        return f"{'https' if self.tls else 'http'}://{host}"

    def start(self):
        self.tls_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.tls_dir, 0o700)
        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self._httpd.standin = self
        self.port = self._httpd.server_address[1]
        self.api = Api(self.store, address=f"{self.server_address or self.host}:{self.port}")
        if self.tls:
            sans = [self.host, "127.0.0.1", "localhost", "kubernetes", "kubernetes.default.svc"]
            if self.server_address:
                sans.append(re.sub(r":\d+$", "", self.server_address))
            cert, key = ensure_tls(self.tls_dir, sans + self.extra_sans)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self._httpd.ssl_context = ctx
        self.kubeconfig = str(self.write_kubeconfig(self.tls_dir / "kubeconfig"))
        if self.state_file is not None:
            if self.state_file.exists():
                self.store.load(json.loads(self.state_file.read_text()))
            self._saved_rv = self.store.rv
            self._saver = threading.Thread(target=self._save_loop, name="kube-api-standin-state", daemon=True)
            self._saver.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="kube-api-standin", daemon=True)
        self._thread.start()
        return self

    def save_state(self):
        """Write the objects to ``state_file`` (0600: it holds Secrets) when they changed since the last save."""
        if self.state_file is None or self.store.rv == self._saved_rv:
            return
        data = self.store.dump()
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.state_file)
        self._saved_rv = data["rv"]

    def _save_loop(self):
        while not self._stopping.wait(0.5):
            self.save_state()

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self._stopping.set()
        if self._saver is not None:
            self._saver.join()
            self._saver = None
        self.save_state()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def ca_cert_pem(self):
        return (self.tls_dir / "ca.crt").read_text() if self.tls else ""

    @property
    def ca_key_pem(self):
        return (self.tls_dir / "ca.key").read_text() if self.tls else ""

    def kubeconfig_dict(self, server=None):
        cluster = {"server": server or self.url}
        if self.tls:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_cert_pem.encode()).decode()
        return {"apiVersion": "v1", "kind": "Config", "preferences": {},
                "clusters": [{"name": "maia-standin", "cluster": cluster}],
                "users": [{"name": "maia-standin-admin", "user": {"token": self.token}}],
                "contexts": [{"name": "maia-standin",
                              "context": {"cluster": "maia-standin", "user": "maia-standin-admin"}}],
                "current-context": "maia-standin"}

    def kubeconfig_text(self, server=None):
        return yaml.safe_dump(self.kubeconfig_dict(server), sort_keys=False)

    def write_kubeconfig(self, path, server=None):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.kubeconfig_text(server))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)  # atomic: a reader never sees a half-written kubeconfig
        return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m maia_lab.standins.kube_api",
                                     description="Kubernetes API stand-in (see docs/standins.md)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=16443, help="port (default 16443; 0 picks a free one)")
    parser.add_argument("--token", default=os.environ.get("MAIA_STANDIN_TOKEN"),
                        help="bearer token (default: $MAIA_STANDIN_TOKEN, else random; it is only written "
                             "into the kubeconfig)")
    parser.add_argument("--tls-dir", required=True,
                        help="directory for ca.crt/ca.key (kept), server.crt/key and the kubeconfig")
    parser.add_argument("--kubeconfig", help="also write the kubeconfig here (mode 0600)")
    parser.add_argument("--server-address", help="host[:port] clients use, written into the kubeconfig")
    parser.add_argument("--plain-http", action="store_true", help="serve HTTP instead of HTTPS")
    parser.add_argument("--crd-establish-delay", type=float, default=0.0,
                        help="seconds before a new CRD is Established (default 0)")
    parser.add_argument("--extra-san", action="append", default=[],
                        help="another IP or DNS name for the server certificate (repeatable)")
    parser.add_argument("--state-file", help="keep the objects in this JSON file (0600) across restarts")
    args = parser.parse_args(argv)
    server = KubeApiStandin(host=args.host, port=args.port, token=args.token, tls_dir=args.tls_dir,
                            tls=not args.plain_http, server_address=args.server_address,
                            crd_establish_delay=args.crd_establish_delay, extra_sans=args.extra_san,
                            state_file=args.state_file)
    server.start()
    if args.kubeconfig and Path(args.kubeconfig).resolve() != Path(server.kubeconfig).resolve():
        server.write_kubeconfig(args.kubeconfig)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(json.dumps({"url": server.url, "kubeconfig": args.kubeconfig or server.kubeconfig,
                      "ca": str(server.tls_dir / "ca.crt") if server.tls else None, "pid": os.getpid()}),
          flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

