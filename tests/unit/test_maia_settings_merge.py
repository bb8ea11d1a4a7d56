"""The merge of maia-salt's settings into a distribution's settings file (_utils/maia_settings_merge.py)."""
import sys

from support.paths import REPO

sys.path.insert(0, str(REPO / "_utils"))
import maia_settings_merge as merge  # noqa: E402

HAND_WRITTEN = {
    "node-label": ["gpu=true"],
    "disable": ["servicelb"],
    "kube-apiserver-arg": ["audit-log-maxage=30", "oidc-client-id=old", "oidc-client-id=older"],
    "etcd": {"snapshot": {"retention": 5}},
}


def test_mappings_key_by_key_lists_item_by_item():
    result = merge.merged(HAND_WRITTEN, {
        "disable": ["traefik"],
        "kube-apiserver-arg": ["oidc-client-id=maia", "oidc-groups-claim=groups"],
        "etcd": {"snapshot": {"cron": "0 */6 * * *"}},
        "write-kubeconfig-mode": "0600",
    })
    assert result["node-label"] == ["gpu=true"]
    assert result["disable"] == ["servicelb", "traefik"]
    # the same flag replaced in place, its duplicate dropped, other arguments kept
    assert result["kube-apiserver-arg"] == ["audit-log-maxage=30", "oidc-client-id=maia", "oidc-groups-claim=groups"]
    assert result["etcd"] == {"snapshot": {"retention": 5, "cron": "0 */6 * * *"}}
    assert result["write-kubeconfig-mode"] == "0600"
    assert HAND_WRITTEN["disable"] == ["servicelb"]  # the input is not changed


def test_merging_twice_changes_nothing():
    wanted = {"disable": ["traefik"], "tls-san": ["a", "b"], "kube-apiserver-arg": ["oidc-client-id=maia"]}
    once = merge.merged(HAND_WRITTEN, wanted)
    assert merge.merged(once, wanted) == once
    assert merge.merged(None, wanted) == wanted


def test_without_removes_only_what_maia_salt_set():
    ours = {"disable": ["traefik"], "kube-apiserver-arg": ["oidc-client-id=maia"], "write-kubeconfig-mode": "0600"}
    merged = merge.merged(HAND_WRITTEN, ours)
    assert merge.without(merged, ours) == {
        "node-label": ["gpu=true"],
        "disable": ["servicelb"],
        "kube-apiserver-arg": ["audit-log-maxage=30"],
        "etcd": {"snapshot": {"retention": 5}},
    }
    assert merge.without({"disable": ["traefik"], "write-kubeconfig-mode": "0644"}, ours) == {"write-kubeconfig-mode": "0644"}
