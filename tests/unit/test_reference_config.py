"""Existing MAIA config folders work unchanged.

The folders here are made at test time by the MAIA toolkit's own
``MAIA_Configure_Installation.sh`` (maia-toolkit 2.5.0 from PyPI, see
``support/reference_config.py``; only its realm download is replaced by a local
copy of the same wheel's template). ``maia-configure`` must re-run on them
without asking anything, keep what the reference wrote, tighten the modes, and
the ``maia`` ext_pillar must read them before any re-run.
"""
import json
import os
import stat
import subprocess
import sys

import pytest
import yaml

from support.reference_config import PRIVATE_SITE, PUBLIC_SITE, copy_folder, reference_or_skip
from support.paths import SALT_CALL
from support.minion import SKIP_MACHINE_GRAINS

pytestmark = pytest.mark.slow

SECRETS = (
    "keycloak_client_secret", "dashboard_api_secret", "ARGOCD_PASSWORD", "argocd_bcrypt_password",
    "rancher_password", "keycloak_admin_password", "minio_admin_password", "minio_root_password",
    "mysql_dashboard_password",
)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return reference_or_skip(tmp_path_factory.mktemp("maia-toolkit"))


@pytest.fixture(scope="module")
def reference_folders(reference, tmp_path_factory):
    base = tmp_path_factory.mktemp("reference-folders")
    return {
        # a private registry, CIFS declined (the script leaves empty cifs_key files)
        "private": reference.make_folder(base / "private", PRIVATE_SITE, "n"),
        # public registries, a CIFS key pair made by ssh-keygen
        "public": reference.make_folder(base / "public", PUBLIC_SITE, "y"),
    }


def maia_configure(args, env, realm):
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "maia_salt.configure_cli", *args],
        input="", capture_output=True, text=True, timeout=300,
        env={**base, "MAIA_REALM_TEMPLATE": str(realm), **env},
    )


def snapshot(folder):
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(folder.iterdir())}


def test_reference_folders_are_what_the_toolkit_writes(reference_folders):
    """Guards the fixture: the reference files with its 0644 modes and its key forms."""
    private, public = reference_folders["private"], reference_folders["public"]
    creds = json.loads((private / "maia-registry-credentials.json").read_text())
    assert creds == {"username": PRIVATE_SITE["REGISTRY_USERNAME"], "password": PRIVATE_SITE["REGISTRY_PASSWORD"]}
    assert (private / "cifs_key").read_bytes() == b""
    assert b"OPENSSH PRIVATE KEY" in (public / "cifs_key").read_bytes()
    assert stat.S_IMODE((private / "env.json").stat().st_mode) == 0o644
    assert json.loads((public / "env.json").read_text())["rancher_token"] == ""


def test_private_folder_reruns_from_its_env_json(reference, reference_folders, tmp_path):
    """No HARBOR_USERNAME question: the credentials come from the folder's
    maia-registry-credentials.json (JSON_KEY_PATH), written back in the toolkit's form."""
    folder = copy_folder(reference_folders["private"], tmp_path / "private")
    before_env = json.loads((folder / "env.json").read_text())
    before_cluster = yaml.safe_load((folder / "maia-private.yaml").read_text())
    before_realm = (folder / "MAIA_realm.json").read_bytes()

    result = maia_configure([str(folder / "env.json"), "--non-interactive"], {}, reference.realm_template)
    assert result.returncode == 0, result.stderr

    moved = lambda v: v.replace(str(reference_folders["private"]), str(folder)) if isinstance(v, str) else v  # noqa: E731
    env = json.loads((folder / "env.json").read_text())
    for key, value in before_env.items():  # every key the reference wrote keeps its value (paths: the copy's)
        assert env[key] == moved(value), key
    cluster = yaml.safe_load((folder / "maia-private.yaml").read_text())
    for key, value in before_cluster.items():
        assert cluster[key] == moved(value), key
    creds = json.loads((folder / "maia-registry-credentials.json").read_text())
    assert creds == {"username": PRIVATE_SITE["REGISTRY_USERNAME"], "password": PRIVATE_SITE["REGISTRY_PASSWORD"]}
    assert (folder / "MAIA_realm.json").read_bytes() == before_realm
    # the declined CIFS key stays declined (empty), without a crash
    assert (folder / "cifs_key").read_bytes() == b""
    # 0644 secrets are tightened, and the output says so
    for name in ("env.json", "maia-private.yaml", "maia-registry-credentials.json", "MAIA_realm.json", "cifs_key"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
        assert f"{name}: " in result.stdout and "mode tightened 0644 -> 0600" in result.stdout
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert PRIVATE_SITE["REGISTRY_PASSWORD"] not in result.stdout + result.stderr

    # and a second run changes nothing
    after = snapshot(folder)
    again = maia_configure([str(folder / "env.json"), "--non-interactive"], {}, reference.realm_template)
    assert again.returncode == 0, again.stderr
    assert snapshot(folder) == after
    assert "written" not in again.stdout


def test_public_folder_reruns_from_the_environment(reference, reference_folders, tmp_path):
    """CONFIG_FOLDER and the site's variables only: the ssh-keygen key pair is kept as
    it is, rancher_token stays empty, the secrets are kept."""
    folder = copy_folder(reference_folders["public"], tmp_path / "public")
    before = json.loads((folder / "env.json").read_text())
    key, pub = (folder / "cifs_key").read_bytes(), (folder / "cifs_key.pub").read_bytes()
    env = {**PUBLIC_SITE, "CONFIG_FOLDER": str(folder)}
    result = maia_configure(["--non-interactive"], env, reference.realm_template)
    assert result.returncode == 0, result.stderr
    after = json.loads((folder / "env.json").read_text())
    assert after["rancher_token"] == ""
    for secret in SECRETS:
        assert after[secret] == before[secret], secret
    assert (folder / "cifs_key").read_bytes() == key and (folder / "cifs_key.pub").read_bytes() == pub
    assert stat.S_IMODE((folder / "cifs_key").stat().st_mode) == 0o600


def test_values_come_out_as_the_reference_writes_them(reference, tmp_path):
    """Same inputs and environment overrides to both: every non-secret value of env.json
    and of the cluster YAML is the reference's (core_project_*, admin_project_*,
    JSON_KEY_PATH, rancher_token, admin_email, the override keys)."""
    overrides = {
        "SSH_PORT_TYPE": "LoadBalancer", "PORT_RANGE_LOWER_BOUND": "32000", "PORT_RANGE_UPPER_BOUND": "32100",
        "STORAGE_CLASS": "ceph-block", "URL_TYPE": "subpath", "BUCKET_NAME": "site-envs",
        "SHARED_STORAGE_CLASS": "cephfs", "RANCHER_TOKEN": "token-abc:xyz",
    }
    for site, cifs in ((PRIVATE_SITE, "n"), (PUBLIC_SITE, "n")):
        ref = reference.make_folder(tmp_path / f"ref-{site['CLUSTER_NAME']}", {**site, **overrides}, cifs)
        ours = tmp_path / f"ours-{site['CLUSTER_NAME']}"
        result = maia_configure(["--non-interactive", "--cifs-key", "no"], {**site, **overrides, "CONFIG_FOLDER": str(ours)},
                                reference.realm_template)
        assert result.returncode == 0, result.stderr
        ref_env, our_env = (json.loads((f / "env.json").read_text()) for f in (ref, ours))
        for key, value in ref_env.items():
            if key in SECRETS:
                assert our_env[key], key
            else:
                assert our_env[key] == value.replace(str(ref), str(ours)), key
        name = site["CLUSTER_NAME"]
        ref_cluster, our_cluster = (yaml.safe_load((f / f"{name}.yaml").read_text()) for f in (ref, ours))
        for key, value in ref_cluster.items():
            if key == "traefik_dashboard_password":
                continue
            expected = value.replace(str(ref), str(ours)) if isinstance(value, str) else value
            assert our_cluster[key] == expected, key
        assert (ours / "MAIA_realm.json").read_bytes() == (ref / "MAIA_realm.json").read_bytes()
        assert json.loads((ours / "maia-registry-credentials.json").read_text()) == json.loads(
            (ref / "maia-registry-credentials.json").read_text())


def test_the_toolkit_reads_what_maia_configure_writes(reference, tmp_path):
    """The toolkit's script, given our env.json, finds the registry credentials in
    the file we wrote (JSON_KEY_PATH, username/password) and keeps our secrets."""
    ours = tmp_path / "ours"
    key_file = tmp_path / "harbor.json"
    key_file.write_text(json.dumps({"harbor_username": "robot-doc", "harbor_password": "doc-secret"}))
    env = {**PRIVATE_SITE, "CONFIG_FOLDER": str(ours), "JSON_KEY_PATH": str(key_file)}
    del env["REGISTRY_USERNAME"], env["REGISTRY_PASSWORD"]
    result = maia_configure(["--non-interactive", "--cifs-key", "no"], env, reference.realm_template)
    assert result.returncode == 0, result.stderr
    ours_env = json.loads((ours / "env.json").read_text())
    ran = reference.configure({}, "n", args=[str(ours / "env.json")])
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert json.loads((ours / "maia-registry-credentials.json").read_text()) == {
        "username": "robot-doc", "password": "doc-secret"}
    again = json.loads((ours / "env.json").read_text())
    for secret in ("keycloak_client_secret", "ARGOCD_PASSWORD", "minio_root_password"):
        assert again[secret] == ours_env[secret]


@pytest.mark.parametrize("kind", ["private", "public"])
def test_ext_pillar_reads_the_reference_folder_unedited(reference_folders, tmp_path, kind):
    """Real Salt (salt-call --local with the maia ext_pillar) on the folder exactly as the
    toolkit left it, plus an inventory.yaml."""
    folder = copy_folder(reference_folders[kind], tmp_path / kind)
    (folder / "inventory.yaml").write_text(yaml.safe_dump({"hosts": {"maia-node-0": {
        "groups": ["control-plane", "nfs_server"],
        "vars": {"device_list": ["/dev/vdb"], "local_storage_size": "50%FREE"}}}}))
    before = snapshot(folder)
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "minion").write_text(yaml.safe_dump({
        "id": "maia-node-0", "file_client": "local", **SKIP_MACHINE_GRAINS, "root_dir": str(tmp_path / "root"),
        "ext_pillar": [{"maia": {"config_folder": str(folder)}}],
    }))
    result = subprocess.run(
        [str(SALT_CALL), "--local", "-c", str(conf), "--out", "json", "--log-level", "quiet",
         "pillar.get", "maia", "unmask=True"],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    maia = json.loads(result.stdout)["local"]
    env = json.loads((folder / "env.json").read_text())
    assert maia["env"]["keycloak_client_secret"] == env["keycloak_client_secret"]
    assert maia["cluster"]["cluster_name"] == env["cluster_name"]
    assert maia["roles"] == ["control-plane", "nfs_server"]
    assert "address" not in maia["host"] or maia["host"]["address"] is None
    if kind == "private":
        assert maia["registry"] == {"url": PRIVATE_SITE["MAIA_PRIVATE_REGISTRY"],
                                    "username": PRIVATE_SITE["REGISTRY_USERNAME"],
                                    "password": PRIVATE_SITE["REGISTRY_PASSWORD"]}
        assert not maia.get("cifs", {}).get("private_key")  # declined: CIFS skipped
    else:
        assert maia["registry"]["url"] == ""
        assert "OPENSSH PRIVATE KEY" in maia["cifs"]["private_key"]
    assert snapshot(folder) == before  # read, not edited
