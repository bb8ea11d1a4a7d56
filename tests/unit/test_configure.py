"""maia-configure: inputs, validation, files, modes, secrets kept, atomic writes."""
import json
import os
import stat
import subprocess
import sys

import bcrypt
import pytest
import yaml

BASE_ENV = {
    "CLUSTER_DOMAIN": "maia.example.com",
    "CLUSTER_NAME": "maia-cluster",
    "INGRESS_RESOLVER_EMAIL": "admin@example.com",
    "K8S_DISTRIBUTION": "microk8s",
    "MAIA_PRIVATE_REGISTRY": "",
}
ENV_JSON_KEYS = [
    "MAIA_PRIVATE_REGISTRY", "cluster_name", "JSON_KEY_PATH", "keycloak_client_secret", "DEPLOY_KUBECONFIG",
    "MAIA_DASHBOARD_DOMAIN", "dashboard_api_secret", "argocd_namespace", "admin_group_ID", "core_project_chart",
    "core_project_repo", "core_project_version", "ARGOCD_PASSWORD", "argocd_bcrypt_password", "rancher_password",
    "keycloak_admin_password", "rancher_token", "admin_project_chart", "admin_project_repo",
    "admin_project_version", "minio_admin_password", "minio_root_password", "mysql_dashboard_password",
    "mongodb_dashboard_password", "admin_email",
]
CLUSTER_KEYS = [
    "domain", "ingress_resolver_email", "cluster_name", "k8s_distribution", "traefik_resolver",
    "traefik_dashboard_password", "rootCA", "bucket_name", "ssh_port_type", "port_range",
    "shared_storage_class", "storage_class", "url_type",
]


def run_configure(args, env_overrides=None, stdin=None, folder=None):
    env = {k: v for k, v in os.environ.items() if k not in (*BASE_ENV, "CONFIG_FOLDER", "PUBLIC_REGISTRY", "HARBOR_USERNAME", "HARBOR_PASSWORD", "JSON_KEY_PATH")}
    env.update(env_overrides or {})
    if folder is not None:
        env["CONFIG_FOLDER"] = str(folder)
    return subprocess.run(
        [sys.executable, "-m", "maia_salt.configure_cli", *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=120,
    )


def snapshot(folder):
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(folder.iterdir())}


@pytest.fixture
def configured(tmp_path):
    folder = tmp_path / "config"
    result = run_configure(["--non-interactive", "--cifs-key", "yes"], BASE_ENV, folder=folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_writes_every_file_with_keys_and_modes(configured):
    names = {p.name for p in configured.iterdir()}
    assert names == {
        "env.json", "maia-cluster.yaml", "microk8s-config.yaml", "maia-registry-credentials.json",
        "MAIA_realm.json", "cifs_key", "cifs_key.pub",
    }
    assert stat.S_IMODE(configured.stat().st_mode) == 0o700
    for secret_file in ("env.json", "maia-cluster.yaml", "maia-registry-credentials.json", "MAIA_realm.json", "cifs_key"):
        assert stat.S_IMODE((configured / secret_file).stat().st_mode) == 0o600, secret_file

    env = json.loads((configured / "env.json").read_text())
    assert set(ENV_JSON_KEYS) <= set(env)
    assert env["MAIA_DASHBOARD_DOMAIN"] == "maia.maia.example.com"
    assert env["argocd_namespace"] == "argocd" and env["admin_group_ID"] == "MAIA:admin"
    assert env["DEPLOY_KUBECONFIG"] == str(configured / "maia-cluster-kubeconfig.yaml")
    assert env["argocd_bcrypt_password"].startswith("$2a$")
    assert bcrypt.checkpw(env["ARGOCD_PASSWORD"].encode(), env["argocd_bcrypt_password"].encode())

    cluster = yaml.safe_load((configured / "maia-cluster.yaml").read_text())
    assert set(CLUSTER_KEYS) <= set(cluster)
    assert cluster["storage_class"] == "microk8s-hostpath"
    assert cluster["rootCA"] == str(configured / "ca.crt")

    launch = yaml.safe_load((configured / "microk8s-config.yaml").read_text())
    assert launch["version"] == "0.2.0" and "maia.example.com" in launch["extraSANs"]
    assert {"name": "dns"} in launch["addons"]

    realm = json.loads((configured / "MAIA_realm.json").read_text())
    assert realm["realm"] == "maia"
    client = realm["clients"][0]
    assert client["clientId"] == "maia" and client["secret"] == env["keycloak_client_secret"]
    assert any("maia.example.com" in uri for uri in client["redirectUris"])
    assert realm["groups"][0]["name"] == "MAIA:admin"

    from cryptography.hazmat.primitives import serialization
    key = serialization.load_pem_private_key((configured / "cifs_key").read_bytes(), password=None)
    assert key.key_size == 4096


def test_rerun_keeps_secrets(configured):
    before = snapshot(configured)
    result = run_configure(["--non-interactive", "--cifs-key", "yes"], BASE_ENV, folder=configured)
    assert result.returncode == 0, result.stderr
    assert snapshot(configured) == before


def test_env_json_round_trip_needs_nothing_else(configured):
    before = snapshot(configured)
    result = run_configure([str(configured / "env.json"), "--non-interactive"], {})
    assert result.returncode == 0, result.stderr
    after = snapshot(configured)
    assert after == before  # every secret and the CIFS key kept, no other value changed


def test_changed_domain_keeps_secrets_and_updates_values(configured):
    old = json.loads((configured / "env.json").read_text())
    result = run_configure(["--non-interactive"], {**BASE_ENV, "CLUSTER_DOMAIN": "other.example.org"}, folder=configured)
    assert result.returncode == 0, result.stderr
    new = json.loads((configured / "env.json").read_text())
    assert new["MAIA_DASHBOARD_DOMAIN"] == "maia.other.example.org"
    for key in ("ARGOCD_PASSWORD", "argocd_bcrypt_password", "keycloak_client_secret", "minio_root_password"):
        assert new[key] == old[key]


def test_prompts_through_stdin(tmp_path):
    folder = tmp_path / "prompted"
    answers = "\n".join(["", "maia.lab.test", "lab", str(folder), "", "k3s"]) + "\n" + "n\n"
    result = run_configure([], {}, stdin=answers)
    assert result.returncode == 0, result.stderr
    cluster = yaml.safe_load((folder / "lab.yaml").read_text())
    assert cluster["k8s_distribution"] == "k3s" and cluster["storage_class"] == "local-path"
    assert cluster["ingress_resolver_email"] == ""
    assert not (folder / "cifs_key").exists()
    assert "Cluster domain" in result.stderr


def test_private_registry_credentials_from_json_key_path(tmp_path):
    key_file = tmp_path / "harbor.json"
    key_file.write_text(json.dumps({"harbor_username": "robot", "harbor_password": "s3cret-harbor"}))
    folder = tmp_path / "private"
    env = {**BASE_ENV, "MAIA_PRIVATE_REGISTRY": "https://harbor.example.com", "JSON_KEY_PATH": str(key_file)}
    result = run_configure(["--non-interactive"], env, folder=folder)
    assert result.returncode == 0, result.stderr
    creds = json.loads((folder / "maia-registry-credentials.json").read_text())
    assert creds == {"harbor_username": "robot", "harbor_password": "s3cret-harbor"}
    assert "s3cret-harbor" not in result.stdout + result.stderr


def test_non_interactive_lists_every_missing_value(tmp_path):
    result = run_configure(["--non-interactive"], {}, folder=None)
    assert result.returncode == 2
    for name in ("MAIA_PRIVATE_REGISTRY", "CLUSTER_DOMAIN", "CLUSTER_NAME", "CONFIG_FOLDER",
                 "INGRESS_RESOLVER_EMAIL", "K8S_DISTRIBUTION"):
        assert f"{name} is not set" in result.stderr
    assert "HARBOR_USERNAME" not in result.stderr  # only asked with a private registry


@pytest.mark.parametrize(
    "override, message",
    [
        ({"K8S_DISTRIBUTION": "openshift"}, "K8S_DISTRIBUTION='openshift' is not supported: use one of microk8s, rke2, k3s, k0s"),
        ({"INGRESS_RESOLVER_EMAIL": "not-an-email"}, "INGRESS_RESOLVER_EMAIL='not-an-email' is not an email address"),
        ({"CLUSTER_DOMAIN": "bad domain!"}, "CLUSTER_DOMAIN='bad domain!' is not a DNS name"),
        ({"CLUSTER_NAME": "Maia_Cluster"}, "CLUSTER_NAME='Maia_Cluster' is not a DNS label"),
        ({"MAIA_PRIVATE_REGISTRY": "https://harbor.example.com"}, "HARBOR_USERNAME is not set"),
    ],
)
def test_bad_value_exits_2_and_changes_nothing(configured, override, message):
    before = snapshot(configured)
    result = run_configure(["--non-interactive"], {**BASE_ENV, **override}, folder=configured)
    assert result.returncode == 2
    assert message in result.stderr
    assert snapshot(configured) == before


def test_malformed_env_json_exits_2(tmp_path):
    bad = tmp_path / "env.json"
    bad.write_text("{not json")
    result = run_configure([str(bad), "--non-interactive"], {})
    assert result.returncode == 2
    assert "is not valid JSON" in result.stderr
    assert bad.read_text() == "{not json"


def test_failed_write_leaves_folder_unchanged(configured):
    """A target that cannot be replaced (here a directory in the way) rolls every write back."""
    before = snapshot(configured)
    (configured / "MAIA_realm.json").unlink()
    (configured / "MAIA_realm.json").mkdir()
    (configured / "MAIA_realm.json" / "keep").write_text("x")
    before.pop("MAIA_realm.json")
    result = run_configure(["--non-interactive"], {**BASE_ENV, "CLUSTER_DOMAIN": "changed.example.com"}, folder=configured)
    assert result.returncode != 0
    after = snapshot_files(configured)
    assert after == before
    assert not [p for p in configured.iterdir() if p.name.startswith(".")]  # no temp or backup files left


def snapshot_files(folder):
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(folder.iterdir()) if p.is_file()}


def test_failed_first_run_removes_the_new_folder(tmp_path, monkeypatch):
    from maia_salt import configure as configure_mod

    def broken_write(folder, planned):
        raise OSError("disk full")

    monkeypatch.setattr(configure_mod, "write_files_atomically", broken_write)
    folder = tmp_path / "new"
    with pytest.raises(OSError):
        configure_mod.configure(None, {**BASE_ENV, "CONFIG_FOLDER": str(folder)}, None, False)
    assert not folder.exists()
