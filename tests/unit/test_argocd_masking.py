"""Unit tests of secret masking (_modules/maia_secrets.py) as the ArgoCD states use it.

No Salt loader, no API: the module is imported from its file and called directly.
"""

import pytest
from support.modules import load_salt_module



def _load(name):
    return load_salt_module(f"_modules/{name}.py", f"_unit_{name}")


@pytest.fixture(scope="module")
def secrets():
    return _load("maia_secrets")


@pytest.mark.parametrize(
    "key",
    ["password", "adminPassword", "client_secret", "keycloak_client_secret", "tls.key", "apiToken",
     "secretKeyRef", "ARGOCD_PASSWORD", "admin.password", "privateKey", "credentials", "htpasswd",
     "adminpassword", "oauthClientSecret", "api-key", "dockerconfigjson",
     "adminPass", "rootPW", "auth", "connectionString", "dockerconfig", "db_connection_string", ".dockerconfig"],
)
def test_secret_looking_keys_are_secret(secrets, key):
    assert secrets.is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    ["keycloak_url", "monkey", "replicas", "releaseName", "username", "repoURL", "chart",
     "targetRevision", "storageClass", "hostname", "email", "issuer", "enabled"],
)
def test_ordinary_keys_are_not_secret(secrets, key):
    assert not secrets.is_secret_key(key)


def test_mask_replaces_nested_secret_values_and_keeps_the_rest(secrets):
    values = {
        "grafana": {
            "adminPassword": "hunter2-grafana",
            "grafana.ini": {"auth.generic_oauth": {"client_id": "maia", "client_secret": "s3cr3t-oauth"}},
            "replicas": 2,
        },
        "existingSecret": {"name": "x", "key": "y"},
        "tls": {"enabled": True, "key": None},
        "list": [{"token": "abcd-token"}, {"name": "ok"}],
    }
    masked = secrets.mask(values)
    assert masked["grafana"]["adminPassword"] == secrets.MASK
    assert masked["grafana"]["grafana.ini"]["auth.generic_oauth"] == {
        "client_id": "maia", "client_secret": secrets.MASK}
    assert masked["grafana"]["replicas"] == 2
    assert masked["existingSecret"] == secrets.MASK  # the whole subtree
    assert masked["tls"] == {"enabled": True, "key": None}  # nothing secret in None
    assert masked["list"] == [{"token": secrets.MASK}, {"name": "ok"}]
    assert values["grafana"]["adminPassword"] == "hunter2-grafana", "input must not be modified"
    text = repr(masked)
    for leaked in ("hunter2-grafana", "s3cr3t-oauth", "abcd-token"):
        assert leaked not in text


def test_extra_keys_by_name_and_by_dotted_path(secrets):
    values = {"traefik": {"dashboard": {"users": "admin:$apr1$hash"}}, "loginapp": {"config": {"users": "u"}},
              "grafana": {"adminUser": "admin-user-value"}}
    by_name = secrets.mask(values, extra_keys=["users"])
    assert by_name["traefik"]["dashboard"]["users"] == secrets.MASK
    assert by_name["loginapp"]["config"]["users"] == secrets.MASK
    by_path = secrets.mask(values, extra_keys=["traefik.dashboard.users", "grafana.adminUser"])
    assert by_path["traefik"]["dashboard"]["users"] == secrets.MASK
    assert by_path["loginapp"]["config"]["users"] == "u"
    assert by_path["grafana"]["adminUser"] == secrets.MASK
    # a dotted path also matches below a prefix (the Application spec around the values)
    assert secrets.is_secret_path(["spec", "source", "helm", "valuesObject", "grafana", "adminUser"],
                                  ["grafana.adminUser"])


def test_collect_and_scrub_remove_secret_values_from_free_text(secrets):
    values = {"grafana": {"adminPassword": "hunter2-grafana"}, "oauth": {"clientSecret": "abc-secret-xyz"},
              "name": "grafana"}
    found = secrets.collect(values)
    assert sorted(found) == ["abc-secret-xyz", "hunter2-grafana"]
    message = 'admission webhook denied: value "hunter2-grafana" and abc-secret-xyz invalid for grafana'
    scrubbed = secrets.scrub(message, found)
    assert "hunter2-grafana" not in scrubbed and "abc-secret-xyz" not in scrubbed
    assert "invalid for grafana" in scrubbed


def test_name_value_pairs_and_values_strings_are_masked(secrets):
    source = {
        "helm": {
            "parameters": [{"name": "adminPassword", "value": "param-pass-1"},
                           {"name": "replicaCount", "value": "3"}],
            "values": "grafana:\n  adminPassword: yaml-pass-2\n  replicas: 1\n",
        },
        "env": [{"name": "MINIO_ROOT_PASSWORD", "value": "env-pass-3"}],
    }
    masked = secrets.mask(source)
    text = repr(masked)
    for leaked in ("param-pass-1", "yaml-pass-2", "env-pass-3"):
        assert leaked not in text
    assert masked["helm"]["parameters"][1] == {"name": "replicaCount", "value": "3"}
    assert "replicas: 1" in masked["helm"]["values"]
    assert sorted(secrets.collect(source)) == ["env-pass-3", "param-pass-1", "yaml-pass-2"]


def test_every_value_of_a_secrets_data_is_masked_whatever_its_key(secrets):
    """A Kubernetes Secret's data/stringData hold secrets under any key (``cfg``, ``x``)."""
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
           "type": "Opaque", "data": {"cfg": "c2VjcmV0LXZhbHVl", "x": "eHl6"},
           "stringData": {"settings.ini": "url=db host=h user=u secretvalue1"}}
    masked = secrets.mask(obj)
    assert masked["data"] == {"cfg": "<masked>", "x": "<masked>"}
    assert masked["stringData"] == {"settings.ini": "<masked>"}
    assert masked["metadata"] == obj["metadata"] and masked["type"] == "Opaque"
    found = secrets.collect({"items": [obj]})
    assert {"c2VjcmV0LXZhbHVl", "url=db host=h user=u secretvalue1"} <= set(found)
    # a ConfigMap's data stays readable
    assert secrets.mask({"kind": "ConfigMap", "data": {"cfg": "plain"}})["data"] == {"cfg": "plain"}
