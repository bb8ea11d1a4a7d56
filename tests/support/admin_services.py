"""The admin layer's services as stand-ins behind one ingress (maia_lab.standins): Keycloak
(admin REST) and Harbor (configurations), with a CA the test site trusts, and a small realm
export shaped as the MAIA realm (realm maia, client maia with a service account, the
realm-management roles, group MAIA:admin), written for the tests.

``MAIA_E2E_KEYCLOAK_URL`` / ``MAIA_E2E_HARBOR_URL`` run the module tests against real services
instead (tests/admin/test_admin_services.py says how).
"""
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maia_lab.standins.harbor import HarborStandin
from maia_lab.standins.https_service import Ingress
from maia_lab.standins.keycloak_admin import KeycloakAdminStandin

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


def ingress(domain, harbor_password, realms, ca=None):
    """An started ``Ingress`` on loopback with ``iam.<domain>`` (Keycloak, realms: a list or a
    callable, see KeycloakAdminStandin) and ``registry.<domain>`` (Harbor); stop() it."""
    ca_cert, ca_key = ca or ca_pair()
    keycloak = KeycloakAdminStandin([f"iam.{domain}"], realms)
    harbor = HarborStandin([f"registry.{domain}"], harbor_password)
    front = Ingress({f"iam.{domain}": keycloak, f"registry.{domain}": harbor}, ca_cert_pem=ca_cert, ca_key_pem=ca_key)
    front.keycloak, front.harbor = keycloak, harbor
    return front.start()
