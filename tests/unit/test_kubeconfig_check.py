"""A kubeconfig from a host is data: maia_salt.kubeconfig_check and the controller's reader of it."""
import pytest
import yaml

from maia_salt import app_status
from maia_salt.kubeconfig_check import KubeconfigRefused, rebuild, rebuilt_text, server_url

from support.kubeconfigs import CA_DATA, exec_user, kubeconfig

SERVER = "https://198.18.0.11:16443"


def test_a_plain_kubeconfig_is_rebuilt_from_its_data():
    doc = rebuild(kubeconfig(), "host cp", SERVER)
    assert doc["clusters"] == [{"name": "microk8s-cluster",
                                "cluster": {"server": SERVER, "certificate-authority-data": CA_DATA}}]
    assert doc["users"] == [{"name": "admin", "user": {"token": "test-token"}}]
    assert doc["current-context"] == "microk8s"
    # the rebuilt text is stable: a re-run writes the same bytes
    assert rebuilt_text(rebuilt_text(kubeconfig(), "h", SERVER), "h", SERVER) == rebuilt_text(kubeconfig(), "h", SERVER)


def test_other_clusters_users_and_fields_are_dropped():
    doc = yaml.safe_load(kubeconfig())
    doc["users"].append({"name": "evil", "user": {"exec": {"command": "/bin/true"}}})
    doc["clusters"].append({"name": "other", "cluster": {"server": "https://203.0.113.9:443"}})
    doc["preferences"] = {"extensions": [{"name": "x"}]}
    out = rebuild(yaml.safe_dump(doc), "host cp", SERVER)
    assert [u["name"] for u in out["users"]] == ["admin"]
    assert [c["name"] for c in out["clusters"]] == ["microk8s-cluster"]


@pytest.mark.parametrize("where,fields,name", [
    ("user", {"exec": {"command": "/bin/sh"}}, "exec"),
    ("user", {"auth-provider": {"name": "oidc"}}, "auth-provider"),
    ("user", {"tokenFile": "/etc/shadow"}, "tokenFile"),
    ("user", {"token": "t", "client-key": "/root/key"}, "client-key"),
    ("user", {"token": "t", "as": "system:admin"}, "as"),
    ("cluster", {"server": SERVER, "certificate-authority": "/etc/ssl/x.pem"}, "certificate-authority"),
    ("cluster", {"server": SERVER, "certificate-authority-data": CA_DATA, "proxy-url": "http://203.0.113.1:3128"},
     "proxy-url"),
    ("cluster", {"server": SERVER, "certificate-authority-data": CA_DATA, "insecure-skip-tls-verify": True},
     "insecure-skip-tls-verify"),
])
def test_fields_that_are_not_data_are_refused_naming_host_and_field(where, fields, name):
    text = kubeconfig(**{where: fields})
    with pytest.raises(KubeconfigRefused, match=rf"^host cp: .*'{name}'"):
        rebuild(text, "host cp", SERVER)


@pytest.mark.parametrize("server", ["https://203.0.113.7:16443", "https://198.18.0.11:6443",
                                    "http://198.18.0.11:16443", "https://198.18.0.11:16443/proxy",
                                    "https://u:p@198.18.0.11:16443"])
def test_a_server_other_than_the_control_planes_is_refused(server):
    with pytest.raises(KubeconfigRefused, match="server"):
        rebuild(kubeconfig(server=server), "host cp", SERVER)


def test_server_url_brackets_ipv6_and_matches_either_spelling():
    assert server_url("fd00::11", 16443) == "https://[fd00::11]:16443"
    rebuild(kubeconfig(server="https://[fd00::11]:16443"), "h", server_url("fd00::11", 16443))


def test_non_base64_data_is_refused():
    with pytest.raises(KubeconfigRefused, match="certificate-authority-data"):
        rebuild(kubeconfig(cluster={"server": SERVER, "certificate-authority-data": "not base64 !"}), "h", SERVER)


def test_the_application_view_never_runs_an_exec_user(tmp_path):
    """What ``maia install`` loads to show the Applications: a kubeconfig whose user runs a
    command is refused, and the command never ran (the kubernetes client runs it on load)."""
    marker = tmp_path / "marker"
    path = tmp_path / "site-kubeconfig.yaml"
    path.write_text(kubeconfig(user=exec_user(marker)))
    with pytest.raises(KubeconfigRefused, match="'exec'"):
        app_status.read_applications(str(path), "argocd")
    assert not marker.exists()


def test_the_client_would_run_it_unchecked(tmp_path):
    """The threat is real: the kubernetes client runs the exec command when it loads the file."""
    from kubernetes import config

    marker = tmp_path / "marker"
    path = tmp_path / "k.yaml"
    path.write_text(kubeconfig(user=exec_user(marker)))
    config.new_client_from_config(config_file=str(path))
    assert marker.exists()
