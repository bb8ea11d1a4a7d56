"""_utils/maia_service_endpoint.py: reaching a service by its ingress name, verified TLS, address fallback.

The HTTPS server is the lab package's service stand-in base (maia_lab.standins.https_service)
with a certificate for ``iam.site.test`` signed by a CA made for the test; no DNS resolves that
name, so reaching it proves the address fallback keeps the name for SNI and the certificate check.
"""
import socket
import sys

import pytest
import requests

from support.paths import REPO

sys.path.insert(0, str(REPO / "_utils"))
import maia_service_endpoint as mse  # noqa: E402
from maia_lab.standins.https_service import HttpsServiceStandin, ServiceError  # noqa: E402


class EchoStandin(HttpsServiceStandin):
    def handle(self, request):
        if request.path == "/missing":
            raise ServiceError(404)
        return 200, {"host": request.headers.get("Host"), "path": request.path}


@pytest.fixture(scope="module")
def server():
    with EchoStandin(["iam.site.test", "localhost"]) as standin:
        yield standin


def _no_dns(*_args, **_kwargs):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_unresolvable_name_is_reached_at_the_address_with_name_and_verified_tls(server, tmp_path):
    end = mse.service_endpoint("iam.site.test", port=server.port, ca_pem=server.ca_cert_pem,
                               address="127.0.0.1", cache_dir=str(tmp_path), resolve=_no_dns)
    assert end.base_url == f"https://iam.site.test:{server.port}"
    assert end.address == "127.0.0.1"
    assert end.verify.startswith(str(tmp_path)) and open(end.verify).read().startswith("-----BEGIN CERTIFICATE")
    reply = mse.session(end).get(end.base_url + "/realms/maia", timeout=10)
    assert reply.status_code == 200
    assert reply.json() == {"host": f"iam.site.test:{server.port}", "path": "/realms/maia"}
    assert mse.session(end).get(end.base_url + "/missing", timeout=10).status_code == 404


def test_certificate_of_another_ca_is_refused(server, tmp_path):
    with EchoStandin(["iam.site.test"]) as other:  # its own CA: not the one given
        end = mse.service_endpoint("iam.site.test", port=server.port, ca_pem=other.ca_cert_pem,
                                   address="127.0.0.1", cache_dir=str(tmp_path), resolve=_no_dns)
    with pytest.raises(requests.exceptions.SSLError):
        mse.session(end).get(end.base_url + "/", timeout=10)


def test_name_not_in_the_certificate_is_refused(server, tmp_path):
    end = mse.service_endpoint("registry.site.test", port=server.port, ca_pem=server.ca_cert_pem,
                               address="127.0.0.1", cache_dir=str(tmp_path), resolve=_no_dns)
    with pytest.raises(requests.exceptions.SSLError):
        mse.session(end).get(end.base_url + "/", timeout=10)


def test_resolving_name_keeps_dns(server, tmp_path):
    end = mse.service_endpoint("localhost", port=server.port, address="198.18.0.11", ca_pem=server.ca_cert_pem,
                               cache_dir=str(tmp_path), resolve=lambda *a: [("ok",)])
    assert end.address is None and end.base_url == f"https://localhost:{server.port}"
    # the name resolves (to loopback): the request goes there, not to the fallback address
    reply = mse.session(end).get(end.base_url + "/x", timeout=10)
    assert reply.status_code == 200 and reply.json()["host"] == f"localhost:{server.port}"


def test_the_ca_bundle_wins_over_the_environment(server, tmp_path, monkeypatch):
    """requests lets REQUESTS_CA_BUNDLE override a session's verify; the endpoint's adapter does not."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    end = mse.service_endpoint("iam.site.test", port=server.port, ca_pem=server.ca_cert_pem,
                               address="127.0.0.1", cache_dir=str(tmp_path), resolve=_no_dns)
    assert mse.session(end).get(end.base_url + "/", timeout=10).status_code == 200


def test_port_443_is_left_out_of_the_url_and_ipv6_addresses_are_bracketed(tmp_path):
    end = mse.service_endpoint("Registry.Site.Test.", address="fd00::1", resolve=_no_dns)
    assert end.base_url == "https://registry.site.test" and end.address == "fd00::1"
    assert mse._host_port("fd00::1", 443) == "[fd00::1]"


@pytest.mark.parametrize("kwargs, words", [
    ({"name": ""}, "not a host name"),
    ({"name": "https://iam.x"}, "not a host name"),
    ({"name": "iam.x", "port": 70000}, "out of range"),
    ({"name": "iam.x", "ca_pem": "not a cert", "cache_dir": "/tmp"}, "no PEM certificate"),
    ({"name": "iam.x", "ca_pem": "-----BEGIN CERTIFICATE-----\nx\n"}, "needs cache_dir"),
])
def test_bad_input_is_refused(kwargs, words):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=words):
        mse.service_endpoint(name, **kwargs)


def test_ca_bundle_is_written_once(server, tmp_path):
    first = mse.service_endpoint("iam.site.test", ca_pem=server.ca_cert_pem, cache_dir=str(tmp_path))
    mtime = (tmp_path / first.verify.rsplit("/", 1)[1]).stat().st_mtime_ns
    second = mse.service_endpoint("iam.site.test", ca_pem=server.ca_cert_pem, cache_dir=str(tmp_path))
    assert second.verify == first.verify
    assert (tmp_path / first.verify.rsplit("/", 1)[1]).stat().st_mtime_ns == mtime
    assert oct((tmp_path / first.verify.rsplit("/", 1)[1]).stat().st_mode & 0o777) == "0o644"


def test_standin_records_writes_only_for_changing_methods(server):
    server.reset_requests()
    end = mse.service_endpoint("iam.site.test", port=server.port, address="127.0.0.1",
                               ca_pem=server.ca_cert_pem, cache_dir="/tmp", resolve=_no_dns)
    http = mse.session(end)
    http.get(end.base_url + "/a", timeout=10)
    http.put(end.base_url + "/b", json={"x": 1}, timeout=10)
    assert [(r.method, r.path, r.status) for r in server.writes()] == [("PUT", "/b", 200)]
    assert len(server.requests()) == 2


def test_pool_manager_reaches_the_address_with_the_names_tls(server, tmp_path):
    """The urllib3 counterpart (the minio SDK's http_client): connects to the address, checks the
    certificate for the name; the client sends Host itself, as the SDK does."""
    import urllib3  # noqa: PLC0415

    end = mse.from_reach({"name": "iam.site.test", "port": server.port, "ca_pem": server.ca_cert_pem,
                          "address": "127.0.0.1", "resolve": _no_dns}, str(tmp_path))
    assert end.verify.startswith(str(tmp_path / "maia"))
    pool = mse.pool_manager(end, retries=False)
    reply = pool.request("GET", end.base_url + "/path", headers={"Host": f"iam.site.test:{server.port}"})
    assert reply.status == 200 and reply.json() == {"host": f"iam.site.test:{server.port}", "path": "/path"}
    wrong_name = mse.service_endpoint("registry.site.test", port=server.port, ca_pem=server.ca_cert_pem,
                                      address="127.0.0.1", cache_dir=str(tmp_path), resolve=_no_dns)
    with pytest.raises(urllib3.exceptions.SSLError):
        mse.pool_manager(wrong_name, retries=False).request("GET", wrong_name.base_url + "/")
