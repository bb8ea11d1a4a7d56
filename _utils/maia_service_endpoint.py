"""How a host reaches one of the site's web services (Keycloak, Harbor, MinIO, Rancher, ...).

A host-side library (``_utils/``, docs/development.md "Host-side library"): plain
functions, no Salt dunders. The admin configuration states run on the control-plane
host and talk to each service as a site's users do: through its ingress name
``https://<service>.<domain>``, over TLS verified against the CA that signed the
ingress certificate. Where the host's DNS does not resolve that name (a lab, a site
with ``selfsigned`` before /etc/hosts is written), the connection goes to the
ingress address instead, while the name is kept for SNI, the ``Host`` header and the
certificate check, so nothing is weakened (docs/admin.md, "Reaching the services").

Contract (kept stable; other modules build on it):

``service_endpoint(name, *, port=443, ca_pem=None, ca_file=None, address=None,
cache_dir=None, resolve=None) -> Endpoint``
    ``name`` is the full host name (``iam.example.org``). ``ca_pem`` (PEM text, e.g.
    the cluster CA or ``externalCA``'s certificate from the pillar) is written once
    to ``cache_dir`` (0644, named by its sha256) and used as the CA bundle;
    ``ca_file`` names an existing bundle instead; neither: the system's trust store
    (``verify=True``, for ACME certificates). ``address`` is the ingress address to
    fall back to: it is used only when ``name`` does not resolve (``resolve`` is
    ``socket.getaddrinfo`` unless a test gives another).
    Raises ``ValueError`` on bad input (empty name, a port out of range, a ``ca_pem``
    without a certificate, ``ca_pem`` without ``cache_dir``).

``from_reach(reach, cachedir) -> Endpoint``
    ``service_endpoint`` from a ``reach`` mapping (``name`` and the keyword arguments, as the
    admin library builds it), with the CA bundle under ``<cachedir or /var/cache/salt>/maia``.

``Endpoint(name, port, base_url, verify, address)``
    ``base_url`` is always ``https://<name>[:<port>]`` (never the address); ``verify``
    is the CA bundle path or ``True``; ``address`` is None when the name resolves,
    else the address connections go to.

``session(endpoint, http=None) -> requests.Session``
    ``http`` (or a new ``requests.Session``) with ``verify`` set and a transport
    adapter mounted for ``base_url`` that verifies against ``endpoint.verify`` even
    when the environment names another bundle (REQUESTS_CA_BUNDLE) and, when
    ``endpoint.address`` is set, connects to the address with SNI, Host and
    certificate check for the name. Any requests-based client (python-keycloak's
    connection, plain requests) uses it.

``pool_manager(endpoint, **kwargs) -> urllib3.PoolManager``
    The same for urllib3-based clients (the ``minio`` SDK's ``http_client``): certificates
    verified against ``endpoint.verify`` (the system store when it is True), and with
    ``endpoint.address`` set, connections for the name go to the address with SNI and the
    certificate check for the name. The client must send ``Host`` itself (the minio SDK does:
    it signs it). ``kwargs`` go to the PoolManager (``timeout``, ``retries``).
"""
import hashlib
import ipaddress
import os
import socket
from collections import namedtuple
from urllib.parse import urlsplit, urlunsplit

Endpoint = namedtuple("Endpoint", "name port base_url verify address")


def _resolves(name, port, resolve):
    try:
        return bool(resolve(name, port, 0, socket.SOCK_STREAM))
    except (socket.gaierror, UnicodeError, OSError):
        return False


def _ca_bundle(ca_pem, cache_dir):
    if "-----BEGIN CERTIFICATE-----" not in (ca_pem or ""):
        raise ValueError("maia_service_endpoint: ca_pem holds no PEM certificate")
    if not cache_dir:
        raise ValueError("maia_service_endpoint: ca_pem needs cache_dir to write the CA bundle to")
    data = ca_pem.strip().encode() + b"\n"
    path = os.path.join(cache_dir, f"maia-service-ca-{hashlib.sha256(data).hexdigest()[:16]}.pem")
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return path
    except OSError:
        pass
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def _host_port(host, port):
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return host if port == 443 else f"{host}:{port}"


def service_endpoint(name, *, port=443, ca_pem=None, ca_file=None, address=None, cache_dir=None, resolve=None):
    """Where and how to reach ``https://<name>``: see the module's docstring (the contract)."""
    name = (name or "").strip().rstrip(".").lower()
    if not name or "/" in name or ":" in name:
        raise ValueError(f"maia_service_endpoint: {name!r} is not a host name")
    port = int(port)
    if not 0 < port < 65536:
        raise ValueError(f"maia_service_endpoint: port {port} is out of range")
    if ca_pem:
        verify = _ca_bundle(ca_pem, cache_dir)
    elif ca_file:
        verify = str(ca_file)
    else:
        verify = True
    use_address = None
    if address and not _resolves(name, port, resolve or socket.getaddrinfo):
        use_address = str(address)
    return Endpoint(name, port, f"https://{_host_port(name, port)}", verify, use_address)


def from_reach(reach, cachedir):
    """``service_endpoint`` from the settings' ``reach``: see the module's docstring."""
    reach = dict(reach)
    return service_endpoint(reach.pop("name", ""), cache_dir=os.path.join(cachedir or "/var/cache/salt", "maia"), **reach)


def _adapter_class():
    from requests.adapters import HTTPAdapter

    class ServiceAdapter(HTTPAdapter):
        """For requests to the endpoint: verify against its CA bundle, whatever the environment
        says (requests lets REQUESTS_CA_BUNDLE override a session's ``verify``), and with an
        address, connect there while SNI, Host and the certificate check stay the name's."""

        def __init__(self, endpoint, **kwargs):
            self.maia_endpoint = endpoint
            super().__init__(**kwargs)

        def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
            if self.maia_endpoint.address:
                name = self.maia_endpoint.name
                pool_kwargs.update(server_hostname=name, assert_hostname=name)
            super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

        def send(self, request, **kwargs):
            end = self.maia_endpoint
            url = urlsplit(request.url)
            if (url.hostname or "").lower() == end.name and (url.port or 443) == end.port:
                kwargs["verify"] = end.verify
                if end.address:
                    request.url = urlunsplit(url._replace(netloc=_host_port(end.address, end.port)))
                    request.headers["Host"] = _host_port(end.name, end.port)
            return super().send(request, **kwargs)

    return ServiceAdapter


def session(endpoint, http=None):
    """``http`` (or a new requests Session) set up to reach ``endpoint``: see the module's docstring."""
    import requests

    http = http if http is not None else requests.Session()
    http.verify = endpoint.verify
    http.mount(endpoint.base_url + "/", _adapter_class()(endpoint))
    return http


def pool_manager(endpoint, **kwargs):
    """A urllib3 PoolManager set up to reach ``endpoint``: see the module's docstring."""
    import urllib3

    class ServicePoolManager(urllib3.PoolManager):
        """Connections for the endpoint's name go to its address when it has one; SNI and the
        certificate check stay the name's."""

        def connection_from_host(self, host, port=None, scheme="http", pool_kwargs=None):
            if endpoint.address and (host or "").lower() == endpoint.name and (port or 443) == endpoint.port:
                pool_kwargs = dict(pool_kwargs or {}, server_hostname=endpoint.name, assert_hostname=endpoint.name)
                host = endpoint.address
            return super().connection_from_host(host, port=port, scheme=scheme, pool_kwargs=pool_kwargs)

    ca_certs = endpoint.verify if isinstance(endpoint.verify, str) else None
    return ServicePoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca_certs, **kwargs)
