"""Stage 4's MinIO step, ``_modules/maia_minio.py``: the bucket ``maia-envs`` and the admin group's IAM
policy in the admin MinIO tenant, with the settings the admin library builds
(``maia_salt.admin.services.minio``) and the state ``maia_admin_service.configured``.

STAND-IN (docs/standins.md: this machine runs no MinIO): ``maia_lab.standins.minio`` behind the ingress
stand-in on loopback, with a certificate for ``minio-api.<domain>`` signed by the site's externalCA; it
checks each request's AWS SigV4 signature against the tenant's credentials as MinIO does. The names do
not resolve here, so every request goes through the ingress-address fallback
(``maia_service_endpoint.pool_manager``). The ``minio`` SDK is the real one.

Against a real MinIO: ``MAIA_E2E_MINIO_URL=https://minio-api.<domain>`` with
``MAIA_E2E_MINIO_SECRET_KEY`` (user maia-admin's secret key) and optionally ``MAIA_E2E_CA_FILE`` run the
same tests there (the write counts and the stand-in-only tests are then skipped: there is no request
record, and the policy is written under a test name).
"""
import copy
import json
import os
import sys

import pytest
from salt.exceptions import CommandExecutionError

from admin.test_admin_services import CLIENT_SECRET, DOMAIN, _reach_override, module, settings_of
from admin.test_admin_specs import ADMIN_SECRETS
from maia_salt.admin.context import harbor_admin_password
from maia_salt.core.context import ConfigError
from maia_lab.standins.https_service import HttpsServiceStandin
from support.admin_services import ca_pair, ingress, realm_export
from support.modules import load_salt_module

REAL_MINIO = os.environ.get("MAIA_E2E_MINIO_URL")
SECRET = ADMIN_SECRETS["minio_admin_password"]
stand_in_only = pytest.mark.skipif(bool(REAL_MINIO), reason="stand-in only: reads or changes the stand-in's store")

# the collection's maia-admin-policy.json (roles/maia_admin_layer), as the document it sends
REFERENCE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["admin:*"]},
    {"Effect": "Allow", "Action": ["kms:*"]},
    {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]},
]}


@pytest.fixture(scope="module")
def ca():
    return ca_pair()


@pytest.fixture()
def front(ca):
    """A fresh stand-in per test: each test starts from an empty tenant."""
    standins = ingress(DOMAIN, harbor_admin_password(CLIENT_SECRET, DOMAIN), [realm_export(CLIENT_SECRET)], ca,
                       minio_credentials={"maia-admin": SECRET})
    yield standins
    standins.stop()


def minio_settings(front, ca, tmp_path, **overrides):
    conf = copy.deepcopy(settings_of(front, ca, tmp_path, reach_standins=False, **overrides)["minio"])
    conf["reach"].update(_reach_override(front, REAL_MINIO))
    if REAL_MINIO:
        conf["secret_key"] = os.environ["MAIA_E2E_MINIO_SECRET_KEY"]
        conf["buckets"] = ["maia-salt-test"]
        conf["policies"] = {"maia-salt-test": conf["policies"]["MAIA:admin"]}
    return conf


def writes(front):
    return None if REAL_MINIO else [(r.method, r.path) for r in front.minio.writes()]


# ------------------------------------------------------------------ the library


def test_settings_are_the_references_bucket_and_policy(front, ca, tmp_path):
    conf = settings_of(front, ca, tmp_path, reach_standins=False,
                       admin={"services": {"address": "", "port": 443}}, host={"address": "198.18.0.11"})["minio"]
    assert conf["reach"] == {"name": f"minio-api.{DOMAIN}", "port": 443, "ca_pem": ca[0], "address": "198.18.0.11"}
    assert (conf["access_key"], conf["secret_key"]) == ("maia-admin", SECRET)
    assert conf["buckets"] == ["maia-envs"]
    # named after admin_group_ID (default MAIA:admin), the collection's document
    assert conf["policies"] == {"MAIA:admin": REFERENCE_POLICY}
    other = settings_of(front, ca, tmp_path, reach_standins=False, env={"admin_group_ID": "MAIA:ops"})["minio"]
    assert list(other["policies"]) == ["MAIA:ops"]


def test_bad_bucket_names_are_refused_by_name(front, ca, tmp_path):
    with pytest.raises(ConfigError, match="maia:admin:minio:buckets"):
        settings_of(front, ca, tmp_path, admin={"minio": {"buckets": ["Not_A_Bucket"]}})


def test_switched_off_minio_gets_no_settings(front, ca, tmp_path):
    assert settings_of(front, ca, tmp_path, admin={"configure": {"minio": False}})["minio"] is None
    assert settings_of(front, ca, tmp_path, admin={"apps": {"admin-toolkit": {"enabled": False}}})["minio"] is None


# ------------------------------------------------------------------ the module


def test_first_apply_makes_bucket_and_policy_then_rerun_writes_nothing(front, ca, tmp_path):
    mn = module("maia_minio", tmp_path)
    settings = minio_settings(front, ca, tmp_path)
    planned = mn.plan(settings)
    if not REAL_MINIO:  # a real tenant may be configured already
        assert planned == {"bucket maia-envs": {"old": None, "new": "present"},
                           "policy MAIA:admin": {"old": None, "new": REFERENCE_POLICY}}
        assert writes(front) == []  # plan only reads
    assert mn.apply(settings) == planned
    if not REAL_MINIO:
        assert front.minio.buckets == {"maia-envs"}
        assert front.minio.policies["MAIA:admin"] == REFERENCE_POLICY
        assert writes(front) == [("PUT", "/maia-envs"), ("PUT", "/minio/admin/v3/add-canned-policy")]
        front.minio.reset_requests()
    assert mn.plan(settings) == {}
    assert mn.apply(settings) == {}
    assert writes(front) in ([], None)


@stand_in_only
def test_policy_stored_in_another_form_is_not_rewritten(front, ca, tmp_path):
    """MinIO may give back a policy with single actions as strings and statements reordered."""
    front.minio.buckets.add("maia-envs")
    front.minio.policies["MAIA:admin"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"},
        {"Effect": "Allow", "Action": ["kms:*"]}, {"Effect": "Allow", "Action": ["admin:*"]}]}
    mn = module("maia_minio", tmp_path)
    assert mn.apply(minio_settings(front, ca, tmp_path)) == {}
    assert writes(front) == []


@stand_in_only
def test_changed_policy_is_put_back_and_nothing_else_is_written(front, ca, tmp_path):
    mn = module("maia_minio", tmp_path)
    settings = minio_settings(front, ca, tmp_path)
    mn.apply(settings)
    narrowed = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                                                        "Resource": ["arn:aws:s3:::*"]}]}
    front.minio.policies["MAIA:admin"] = narrowed
    front.minio.reset_requests()
    assert mn.apply(settings) == {"policy MAIA:admin": {"old": narrowed, "new": REFERENCE_POLICY}}
    assert writes(front) == [("PUT", "/minio/admin/v3/add-canned-policy")]
    assert front.minio.policies["MAIA:admin"] == REFERENCE_POLICY


@pytest.mark.parametrize("field, value, code", [("secret_key", "not-the-Secret-4242", "SignatureDoesNotMatch"),
                                                ("access_key", "someone-else", "InvalidAccessKeyId")])
def test_wrong_credentials_fail_clearly_and_write_nothing(front, ca, tmp_path, field, value, code):
    mn = module("maia_minio", tmp_path)
    settings = minio_settings(front, ca, tmp_path)
    settings[field] = value
    with pytest.raises(CommandExecutionError) as err:
        mn.apply(settings)
    message = str(err.value)
    assert "HTTP 403" in message and "maia-admin with minio_admin_password" in message
    if not REAL_MINIO:
        assert writes(front) == [] and front.minio.buckets == set() and "MAIA:admin" not in front.minio.policies
        assert {r.status for r in front.minio.requests()} == {403}
        # a HEAD answer has no body; the admin API names the reason, as MinIO does
        with pytest.raises(CommandExecutionError, match=f"HTTP 403 {code}"):
            mn._call("read policy", mn._clients(settings)[1].policy_info, "MAIA:admin")
    assert value not in message or field == "access_key"
    assert SECRET not in message


def test_certificate_of_another_ca_is_refused(front, ca, tmp_path):
    mn = module("maia_minio", tmp_path)
    settings = minio_settings(front, ca, tmp_path)
    settings["reach"]["ca_pem"] = ca_pair()[0]
    settings["reach"].pop("ca_file", None)
    with pytest.raises(CommandExecutionError, match="not reachable"):
        mn.plan(settings)
    assert writes(front) in ([], None)


@stand_in_only
def test_works_without_the_compiled_crypto_libraries(front, ca, tmp_path, monkeypatch):
    """A salt-ssh thin carries pure-Python packages only: argon2-cffi and pycryptodome (which the SDK
    imports for the admin calls it encrypts) are missing there; the bucket and policy calls still work."""
    import importlib.util  # noqa: PLC0415

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("argon2", "Crypto") else real_find_spec(name, *a))
    for name in [n for n in sys.modules if n == "minio" or n.startswith("minio.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "argon2", None)  # an import of it fails, as on the host
    monkeypatch.setitem(sys.modules, "Crypto", None)
    mn = module("maia_minio", tmp_path)
    assert set(mn.apply(minio_settings(front, ca, tmp_path))) == {"bucket maia-envs", "policy MAIA:admin"}
    with pytest.raises(RuntimeError, match="argon2-cffi and pycryptodome"):
        sys.modules["minio.crypto"].encrypt(b"x", "y")
    for name in [n for n in sys.modules if n == "minio" or n.startswith("minio.")]:
        monkeypatch.delitem(sys.modules, name)  # the next test imports the real SDK again


# ------------------------------------------------------------------ the state


def _state(tmp_path, test):
    salt = {}
    state = load_salt_module("_states/maia_admin_service.py", "maia_admin_service_minio_under_test", salt=salt,
                             opts={"test": test, "cachedir": str(tmp_path)})
    mod = module("maia_minio", tmp_path)
    salt["maia_minio.plan"], salt["maia_minio.apply"] = mod.plan, mod.apply
    return state


class NoRoute(HttpsServiceStandin):
    """The ingress before the tenant is deployed: its default backend's 404 page."""

    def handle(self, request):
        return 404, "404 page not found"


def test_state_predicts_while_minio_is_not_deployed_yet(ca, tmp_path):
    """A first install under test=True: the admin toolkit is not synced, the ingress has no route."""
    with NoRoute([f"minio-api.{DOMAIN}"], ca_cert_pem=ca[0], ca_key_pem=ca[1]) as ingress_only:
        settings = minio_settings(ingress_only, ca, tmp_path)
        settings["reach"].update(address="127.0.0.1", port=ingress_only.port)
        ret = _state(tmp_path, test=True).configured("m", "minio", settings)
        assert ret["result"] is None and ret["changes"] == {"minio": {"old": None, "new": "configured"}}
        assert "HTTP 404 (not serving yet)" in ret["comment"]
        ret = _state(tmp_path, test=False).configured("m", "minio", settings)
        assert ret["result"] is False and ret["changes"] == {}


@stand_in_only
def test_state_predicts_then_changes_exactly_that_then_nothing(front, ca, tmp_path):
    settings = minio_settings(front, ca, tmp_path)
    predicted = _state(tmp_path, test=True).configured("m", "minio", settings)
    assert predicted["result"] is None and writes(front) == []
    ret = _state(tmp_path, test=False).configured("m", "minio", settings)
    assert ret["result"] is True and ret["changes"] == predicted["changes"]
    assert set(ret["changes"]) == {"bucket maia-envs", "policy MAIA:admin"}
    front.minio.reset_requests()
    again = _state(tmp_path, test=False).configured("m", "minio", settings)
    assert again["result"] is True and again["changes"] == {} and writes(front) == []
    assert SECRET not in json.dumps([predicted, ret, again])
