"""A base for the HTTPS stand-ins of the admin layer's services (Keycloak, Harbor, MinIO, Rancher).

Each service stand-in subclasses ``HttpsServiceStandin`` and implements ``handle(request)``;
the base gives it what every one needs (docs/standins.md, "HTTPS service stand-ins"):

- TLS with a server certificate for the service's host names, signed by the CA it is
  given (the lab's cluster CA, the one the Kubernetes API stand-in uses), so clients
  verify it as they verify a real ingress certificate;
- a request record: every request's method, path and status, and ``writes()`` (every
  request other than GET/HEAD) so a test can assert that a re-run writes nothing;
- ``ServiceError(status, body)`` for error answers (401 without credentials, 404, 409 on a
  duplicate, ...), which ``handle`` raises and the base sends as JSON.

No secret is recorded: the record has the method, path (without query) and status only.
"""
from __future__ import annotations

import json
import os
import ssl
import tempfile
import threading
from collections import namedtuple
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .kube_api.server import _HTTPServer as TLSThreadingServer  # TLS handshake per request thread
from .kube_api.tls import ensure_tls

Request = namedtuple("Request", "method path query headers body")
Recorded = namedtuple("Recorded", "method path status")


def current(value):
    """A stand-in's credential: given as a value, or as a callable asked at each request (the
    lab's stand-ins read the site's secrets from CONFIG_FOLDER, written after they start)."""
    return value() if callable(value) else value


class ServiceError(Exception):
    """An error answer: ``status`` and a JSON-able ``body``."""

    def __init__(self, status, body=None):
        super().__init__(status)
        self.status, self.body = status, body if body is not None else {"error": str(status)}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def _dispatch(self):
        standin = self.server.standin
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = Request(self.command, url.path, parse_qs(url.query), self.headers, body)
        headers, target = {}, standin
        try:
            target = standin.route(request)
            status, payload, *extra = target.handle(request)
            headers = extra[0] if extra else {}
        except ServiceError as exc:
            status, payload = exc.status, exc.body
        except Exception as exc:  # a stand-in bug shows as a 500 with its message, as a server would
            status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
        standin.record(Recorded(self.command, url.path, status))
        if target is not standin:
            target.record(Recorded(self.command, url.path, status))
        if isinstance(payload, (bytes, str)):
            data = payload.encode() if isinstance(payload, str) else payload
            ctype = headers.pop("Content-Type", "text/plain")
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
            ctype = headers.pop("Content-Type", "application/json")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class HttpsServiceStandin:
    """Serve ``handle`` over HTTPS on ``host:port`` with a certificate for ``names``.

    ``ca_cert_pem``/``ca_key_pem``: the CA that signs the certificate (the lab's cluster CA);
    without them a CA is made in ``tls_dir`` and ``ca_cert_pem`` gives it to clients.
    """

    def __init__(self, names, host="127.0.0.1", port=0, ca_cert_pem=None, ca_key_pem=None, tls_dir=None):
        self.names, self.host, self.port = list(names), host, port
        self._tmp = None
        if tls_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="maia-service-standin-")
            tls_dir = self._tmp.name
        self.tls_dir = Path(tls_dir)
        self._ca = (ca_cert_pem, ca_key_pem)
        self._log, self._lock = [], threading.Lock()
        self._httpd = self._thread = None

    # ---- what a subclass implements ------------------------------------------------
    def route(self, request):
        """The stand-in that answers ``request`` (``Ingress`` picks one by host name)."""
        return self

    def handle(self, request):
        """Answer ``request``: ``(status, payload[, headers])`` or raise ``ServiceError``."""
        raise NotImplementedError

    # ---- helpers for subclasses ------------------------------------------------------
    @staticmethod
    def json_body(request):
        try:
            return json.loads(request.body or b"null")
        except ValueError as exc:
            raise ServiceError(400, {"error": "invalid JSON body"}) from exc

    # ---- the request record ---------------------------------------------------------
    def record(self, entry):
        with self._lock:
            self._log.append(entry)

    def requests(self):
        with self._lock:
            return list(self._log)

    def writes(self):
        """Every recorded request that may change something (not GET/HEAD)."""
        return [r for r in self.requests() if r.method not in ("GET", "HEAD")]

    def reset_requests(self):
        with self._lock:
            self._log.clear()

    # ---- life cycle -----------------------------------------------------------------
    @property
    def ca_cert_pem(self):
        return (self.tls_dir / "ca.crt").read_text()

    @property
    def url(self):
        return f"https://{self.names[0]}:{self.port}"

    def start(self):
        self.tls_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.tls_dir, 0o700)
        cert_pem, key_pem = self._ca
        if cert_pem and key_pem:
            for fname, data in (("ca.crt", cert_pem), ("ca.key", key_pem)):
                fd = os.open(self.tls_dir / fname, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(data)
        cert, key = ensure_tls(self.tls_dir, self.names + [self.host])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self._httpd = TLSThreadingServer((self.host, self.port), _Handler)
        self._httpd.ssl_context = ctx
        self._httpd.standin = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Ingress(HttpsServiceStandin):
    """One HTTPS address for several service stand-ins, routed by the ``Host`` header as an ingress
    controller routes by host name; the certificate names every service. The services are not
    started themselves: ``Ingress.start`` gives them its port and CA (``services[name].url``)."""

    def __init__(self, services, **kwargs):
        self.services = dict(services)
        super().__init__(list(self.services), **kwargs)

    RECORD_PATH = "/_standin/writes"

    def route(self, request):
        if request.path == self.RECORD_PATH:
            return self
        host = (request.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        if host not in self.services:
            raise ServiceError(404, {"error": f"no ingress rule for host {host!r}"})
        return self.services[host]

    def handle(self, request):
        """``GET /_standin/writes``: each service's write requests so far, for a test in another
        process (the lab's); ``{host: [[method, path, status], ...]}``."""
        if request.method != "GET":
            raise ServiceError(405)
        return 200, {host: [list(r) for r in service.writes()] for host, service in self.services.items()}

    def start(self):
        super().start()
        for service in self.services.values():
            service.port, service.tls_dir = self.port, self.tls_dir
        return self
