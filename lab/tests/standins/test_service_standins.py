"""The Keycloak and Harbor stand-ins answer as the real servers do where stage 4 relies on it:
authentication, status codes, conflicts on duplicates, secrets never returned; the ingress
stand-in routes by host name and reports each service's writes."""
import pytest
import requests

from support.admin_services import ca_pair, ingress, realm_export

DOMAIN = "site.test"
SECRET = "client-Secret-0001"


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    standins = ingress(DOMAIN, "harbor-Admin-0002", [realm_export(SECRET)], ca_pair())
    ca = tmp_path_factory.mktemp("ca") / "ca.crt"
    ca.write_text(standins.ca_cert_pem)
    standins.http, standins.ca_file = requests.Session(), str(ca)
    yield standins
    standins.stop()


def call(front, host, method, path, **kwargs):
    """A request to ``host`` at the ingress's loopback address (the name is the Host header)."""
    url = f"https://127.0.0.1:{front.port}{path}"
    headers = {"Host": f"{host}.{DOMAIN}:{front.port}", **kwargs.pop("headers", {})}
    # the certificate names the services and the listen address (127.0.0.1)
    # verify per request: requests lets REQUESTS_CA_BUNDLE override a session's verify
    return front.http.request(method, url, headers=headers, timeout=10, verify=front.ca_file, **kwargs)


def token(front, secret=SECRET):
    return call(front, "iam", "POST", "/realms/maia/protocol/openid-connect/token",
                data={"grant_type": "client_credentials", "client_id": "maia", "client_secret": secret})


def admin(front, method, path, **kwargs):
    bearer = token(front).json()["access_token"]
    return call(front, "iam", method, f"/admin/realms/maia{path}", headers={"Authorization": f"Bearer {bearer}"}, **kwargs)


def test_keycloak_token_needs_the_client_secret(front):
    assert token(front, "wrong").status_code == 401
    assert token(front).status_code == 200 and token(front).json()["token_type"] == "Bearer"


def test_keycloak_admin_rest_needs_a_token_of_the_realm(front):
    assert call(front, "iam", "GET", "/admin/realms/maia/users").status_code == 401
    assert call(front, "iam", "GET", "/admin/realms/maia/users", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert admin(front, "GET", "/users").json() == []


def test_keycloak_duplicates_conflict(front):
    for path, body in (("/clients", {"clientId": "dup-client"}), ("/users", {"username": "dup@site.test"}),
                       ("/groups", {"name": "dup-group"})):
        first = admin(front, "POST", path, json=body)
        assert first.status_code == 201 and first.headers["Location"].startswith(f"https://iam.{DOMAIN}:")
        assert admin(front, "POST", path, json=body).status_code == 409, path


def test_keycloak_password_grant_refused_while_the_password_is_temporary(front):
    admin(front, "POST", "/users", json={"username": "temp@site.test", "credentials": [
        {"type": "password", "value": "First-0003", "temporary": True}]})
    form = {"grant_type": "password", "client_id": "maia", "client_secret": SECRET,
            "username": "temp@site.test", "password": "First-0003"}
    assert call(front, "iam", "POST", "/realms/maia/protocol/openid-connect/token", data=form).status_code == 400
    front.keycloak.set_password("maia", "temp@site.test", "Chosen-0004")
    assert call(front, "iam", "POST", "/realms/maia/protocol/openid-connect/token", data=form).status_code == 401
    form["password"] = "Chosen-0004"
    assert call(front, "iam", "POST", "/realms/maia/protocol/openid-connect/token", data=form).status_code == 200


def test_harbor_checks_the_admin_password_and_never_returns_the_secret(front):
    auth = ("admin", "harbor-Admin-0002")
    assert call(front, "registry", "GET", "/api/v2.0/configurations", auth=("admin", "Harbor12345")).status_code == 401
    assert call(front, "registry", "PUT", "/api/v2.0/configurations", auth=auth,
                json={"no_such_key": 1}).status_code == 400
    assert call(front, "registry", "PUT", "/api/v2.0/configurations", auth=auth,
                json={"auth_mode": "oidc_auth", "oidc_client_secret": SECRET}).status_code == 200
    got = call(front, "registry", "GET", "/api/v2.0/configurations", auth=auth)
    assert got.json()["auth_mode"]["value"] == "oidc_auth" and SECRET not in got.text


def test_ingress_routes_by_host_and_reports_writes(front):
    assert call(front, "nothing", "GET", "/").status_code == 404
    writes = front.http.get(f"https://127.0.0.1:{front.port}/_standin/writes", timeout=10, verify=front.ca_file).json()
    assert ["PUT", "/api/v2.0/configurations", 200] in writes[f"registry.{DOMAIN}"]
    assert ["POST", "/admin/realms/maia/clients", 409] in writes[f"iam.{DOMAIN}"]
