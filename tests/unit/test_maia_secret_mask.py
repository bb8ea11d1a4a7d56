"""_utils/maia_secret_mask.py: which values are secret, and how they are masked and scrubbed."""
import sys

import yaml

from support.paths import REPO

sys.path.insert(0, str(REPO / "_utils"))
import maia_secret_mask as sm  # noqa: E402


def test_keys_are_split_into_words_and_readable_names_stay():
    for key in ("adminPassword", "client_secret", "tls.key", "apiToken", "rootPW", "connectionString", "auths",
                "dockerconfigjson", "clientsecret"):
        assert sm.is_secret_key(key), key
    for key in ("keycloak_url", "monkey", "authentication", "username", "enabled", "ttl"):
        assert not sm.is_secret_key(key), key


def test_mask_keeps_structure_booleans_and_none_and_masks_whole_secret_subtrees():
    obj = {"name": "x", "adminPassword": "p4ss", "tls": {"enabled": True, "key": {"pem": "KEY"}},
           "existingSecret": None, "env": [{"name": "DB_PASSWORD", "value": "dbpw"}, {"name": "MODE", "value": "a"}]}
    masked = sm.mask(obj)
    assert masked == {"name": "x", "adminPassword": sm.MASK, "tls": {"enabled": True, "key": sm.MASK},
                      "existingSecret": None,
                      "env": [{"name": "DB_PASSWORD", "value": sm.MASK}, {"name": "MODE", "value": "a"}]}
    assert obj["adminPassword"] == "p4ss"  # a copy, the input is untouched


def test_a_kubernetes_secret_is_masked_whatever_its_keys_and_helm_values_strings_too():
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"ca.crt": "Q0E=", "anything": "c2VjcmV0"}}
    assert sm.mask(secret)["data"] == {"ca.crt": sm.MASK, "anything": sm.MASK}
    assert sm.mask(secret)["metadata"] == {"name": "s"}
    values = yaml.safe_dump({"grafana": {"adminPassword": "g", "replicas": 1}})
    assert yaml.safe_load(sm.mask({"values": values})["values"]) == {"grafana": {"adminPassword": sm.MASK, "replicas": 1}}


def test_extra_keys_plain_and_dotted():
    obj = {"traefik": {"dashboard": {"users": "admin:hash"}}, "users": ["u"], "other": {"users": "kept?"}}
    assert sm.mask(obj, ["traefik.dashboard.users"]) == {"traefik": {"dashboard": {"users": sm.MASK}},
                                                          "users": ["u"], "other": {"users": "kept?"}}
    assert sm.mask(obj, ["users"])["users"] == sm.MASK


def test_collect_then_scrub_removes_every_secret_longest_first():
    obj = {"password": "abcd", "token": "abcdefgh", "short": {"secret": "abc"}}
    found = sm.collect(obj)
    assert sorted(found) == ["abcd", "abcdefgh"]  # three characters are too short to scrub
    assert sm.scrub("error: abcdefgh and abcd", found) == f"error: {sm.MASK} and {sm.MASK}"
