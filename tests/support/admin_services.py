"""The admin layer's services as stand-ins behind one ingress (maia_lab.standins): Keycloak
(admin REST), Harbor (configurations) and MinIO (S3 buckets, admin API policies), with a CA the
test site trusts, and a small realm export shaped as the MAIA realm (realm maia, client maia with a service account, the
realm-management roles, group MAIA:admin), written for the tests.

``MAIA_E2E_KEYCLOAK_URL`` / ``MAIA_E2E_HARBOR_URL`` / ``MAIA_E2E_MINIO_URL`` run the module tests
against real services instead (tests/admin/test_admin_services.py and test_maia_minio.py say how).
"""
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maia_lab.standins.harbor import HarborStandin
from maia_lab.standins.https_service import Ingress
from maia_lab.standins.keycloak_admin import KeycloakAdminStandin
from maia_lab.standins.minio import MinioStandin

RM_ROLES = ("create-client", "impersonation", "manage-clients", "manage-users", "query-clients", "query-groups",
            "query-users", "realm-admin", "view-clients", "view-realm", "view-users")


def realm_export(client_secret="**********"):
    """A realm export as MAIA_realm.json is shaped (the parts stage 4 and the stand-in read)."""
    return {
        "id": "maia", "realm": "maia", "enabled": True,
        "clients": [
            {"clientId": "maia", "secret": client_secret, "publicClient": False, "serviceAccountsEnabled": True,
             "redirectUris": ["*"]},
            {"clientId": "realm-management", "bearerOnly": True},
        ],
        "roles": {"client": {"realm-management": [{"name": n} for n in RM_ROLES]}},
        "groups": [{"name": "MAIA:admin", "path": "/MAIA:admin"}],
    }


def ca_pair():
    """A CA certificate and key (PEM texts) for the site's externalCA and the ingress stand-in."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MAIA test ingress CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def ingress(domain, harbor_password, realms, ca=None, minio_credentials=None):
    """An started ``Ingress`` on loopback with ``iam.<domain>`` (Keycloak, realms: a list or a
    callable, see KeycloakAdminStandin), ``registry.<domain>`` (Harbor) and ``minio-api.<domain>``
    (MinIO, ``{access_key: secret_key}``); stop() it."""
    ca_cert, ca_key = ca or ca_pair()
    keycloak = KeycloakAdminStandin([f"iam.{domain}"], realms)
    harbor = HarborStandin([f"registry.{domain}"], harbor_password)
    minio = MinioStandin([f"minio-api.{domain}"], minio_credentials or {})
    front = Ingress({f"iam.{domain}": keycloak, f"registry.{domain}": harbor, f"minio-api.{domain}": minio},
                    ca_cert_pem=ca_cert, ca_key_pem=ca_key)
    front.keycloak, front.harbor, front.minio = keycloak, harbor, minio
    return front.start()


def rancher_front(site, domain):
    """The Rancher v3 stand-in (``mgmt.<domain>``) behind a started ``Ingress`` on loopback, with a
    CA of its own; the admin password is ``site``'s env.json ``rancher_password`` (read at each
    login). ``front.rancher`` is the stand-in, whose ``services`` (address, port, CA) tell the
    runner how to reach it; stop() the front."""
    import json

    from maia_lab.standins.rancher import RancherStandin

    ca_cert, ca_key = ca_pair()
    rancher = RancherStandin([f"mgmt.{domain}"],
                             lambda: json.loads((site / "env.json").read_text())["rancher_password"])
    front = Ingress({f"mgmt.{domain}": rancher}, ca_cert_pem=ca_cert, ca_key_pem=ca_key).start()
    rancher.services = {"address": "127.0.0.1", "port": front.port, "ca_pem": ca_cert}
    front.rancher = rancher
    return front


def lab_services(lab):
    """What the lab's Keycloak, Harbor, MinIO and Rancher stand-ins hold, asked over their own APIs
    as a client would (TLS verified against the lab's cluster CA, the ingress-address fallback): the
    site admin user, Harbor's auth settings, MinIO's bucket maia-envs and the admin group's policy
    (with the minio SDK), whether Rancher accepts the recorded token, and every write request each
    has had."""
    import json  # noqa: PLC0415
    import sys  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    from maia_lab.standins.lab import SERVICES_PORT  # noqa: PLC0415
    from maia_salt.admin.context import harbor_admin_password  # noqa: PLC0415
    from support.paths import REPO  # noqa: PLC0415

    sys.path.insert(0, str(REPO / "_utils"))
    import maia_service_endpoint as mse  # noqa: PLC0415

    folder = Path(lab.config_folder)
    env = json.loads((folder / "env.json").read_text())
    domain = (yaml.safe_load((folder / f"{env['cluster_name']}.yaml").read_text()) or {})["domain"]
    ca = Path(lab.path("standins", "kube-api", "ca.crt")).read_text()

    def http(service):
        end = mse.service_endpoint(f"{service}.{domain}", port=SERVICES_PORT, ca_pem=ca, address=lab.bridge_address,
                                   cache_dir=lab.path("standins"))
        return end.base_url, mse.session(end)

    base, kc = http("iam")
    token = kc.post(f"{base}/realms/maia/protocol/openid-connect/token", timeout=30, data={
        "grant_type": "client_credentials", "client_id": "maia", "client_secret": env["keycloak_client_secret"]}).json()
    kc.headers["Authorization"] = f"Bearer {token['access_token']}"
    email = env.get("admin_email") or f"admin@{domain}"
    users = kc.get(f"{base}/admin/realms/maia/users", params={"username": email, "exact": "true"}, timeout=30).json()
    groups = kc.get(f"{base}/admin/realms/maia/users/{users[0]['id']}/groups", timeout=30).json() if users else []
    writes = kc.get(f"{base}/_standin/writes", timeout=30).json()
    hb_base, hb = http("registry")
    hb.auth = ("admin", env.get("harbor_admin_password") or harbor_admin_password(env["keycloak_client_secret"], domain))
    harbor = hb.get(f"{hb_base}/api/v2.0/configurations", timeout=30).json()
    rancher_base, rancher = http("mgmt")
    rancher.headers["Authorization"] = f"Bearer {env.get('rancher_token') or ''}"
    first_login = rancher.get(f"{rancher_base}/v3/settings/first-login", timeout=30)
    return {"user": users[0] if users else None, "groups": sorted(g["name"] for g in groups),
            "harbor": {k: v["value"] for k, v in harbor.items()}, "writes": writes,
            # Rancher accepts the token env.json records (401 otherwise) and its first login is done
            "rancher": {"token_status": first_login.status_code,
                        "first_login": first_login.json().get("value") if first_login.ok else None},
            "minio": _minio_facts(mse.service_endpoint(f"minio-api.{domain}", port=SERVICES_PORT, ca_pem=ca,
                                                       address=lab.bridge_address, cache_dir=lab.path("standins")),
                                  env["minio_admin_password"], env.get("admin_group_ID") or "MAIA:admin")}


def _minio_facts(end, secret, policy):
    """Bucket maia-envs and ``policy`` in the admin tenant, read with the minio SDK as user maia-admin."""
    import json  # noqa: PLC0415

    from minio import Minio, MinioAdmin  # noqa: PLC0415
    from minio.credentials import StaticProvider  # noqa: PLC0415
    from minio.error import MinioAdminException  # noqa: PLC0415

    import maia_service_endpoint as mse  # noqa: PLC0415

    host, pool = end.base_url.removeprefix("https://"), mse.pool_manager(end, retries=False)
    s3 = Minio(host, access_key="maia-admin", secret_key=secret, region="us-east-1", http_client=pool)
    admin = MinioAdmin(endpoint=host, credentials=StaticProvider("maia-admin", secret), region="us-east-1",
                       http_client=pool)
    try:
        document = json.loads(admin.policy_info(policy))
    except MinioAdminException:
        document = None
    return {"bucket": s3.bucket_exists("maia-envs"), "policy": document}
