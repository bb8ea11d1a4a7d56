"""maia-configure: inputs, validation, files, modes, secrets kept, atomic writes."""
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys

import bcrypt
import pytest
import yaml

from maia_salt import realm as realm_source
from maia_salt.admin.context import harbor_admin_password

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
    "mongodb_dashboard_password", "admin_email", "harbor_admin_password",
]
CLUSTER_KEYS = [
    "domain", "ingress_resolver_email", "cluster_name", "k8s_distribution", "traefik_resolver",
    "traefik_dashboard_password", "rootCA", "bucket_name", "ssh_port_type", "port_range",
    "shared_storage_class", "storage_class", "url_type",
]


@pytest.fixture(scope="session", autouse=True)
def toolkit_wheel(tmp_path_factory):
    """The maia-toolkit 2.5.0 wheel from PyPI: the offline source of MAIA_realm.json for these runs."""
    wheels = tmp_path_factory.mktemp("wheels")
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "maia-toolkit==2.5.0",
                             "-d", str(wheels)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.skip(f"maia-toolkit 2.5.0 cannot be downloaded from PyPI: {result.stderr[-500:]}")
    wheel = next(wheels.glob("maia_toolkit-*.whl"))
    os.environ[realm_source.ENV_VAR] = str(wheel)  # for the in-process configure() calls
    return wheel


def run_configure(args, env_overrides=None, stdin=None, folder=None, preexec=None, extra_env=None):
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", realm_source.ENV_VAR) if k in os.environ}
    env.update(env_overrides or {})
    env.update(extra_env or {})
    if folder is not None:
        env["CONFIG_FOLDER"] = str(folder)
    return subprocess.run(
        [sys.executable, "-m", "maia_salt.configure_cli", *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=300, preexec_fn=preexec,
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

    # the toolkit's defaults
    assert env["core_project_chart"] == "maia-core-project" and env["core_project_version"] == "1.2.3"
    assert env["admin_project_chart"] == "maia-admin-project" and env["admin_project_version"] == "1.1.0"
    assert env["JSON_KEY_PATH"] == str(configured / "maia-registry-credentials.json")
    assert env["admin_email"] == "admin@maia.io"
    assert env["rancher_token"] == ""  # never generated: a random value is no Rancher token
    # not the Harbor chart's default; the value maia.admin derives for a folder without it
    assert env["harbor_admin_password"] not in ("", "Harbor12345")
    assert env["harbor_admin_password"] == harbor_admin_password(env["keycloak_client_secret"], "maia.example.com")

    # the toolkit's realm, pinned and checksummed
    realm = (configured / "MAIA_realm.json").read_bytes()
    assert hashlib.sha256(realm).hexdigest() == realm_source.TEMPLATE_SHA256
    assert json.loads(realm)["realm"] == "maia"

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


KEY_FILES = {
    "documentation": (json.dumps({"harbor_username": "robot", "harbor_password": "s3cret-harbor"}), "robot", "s3cret-harbor"),
    "toolkit": (json.dumps({"username": "robot", "password": "s3cret-harbor"}), "robot", "s3cret-harbor"),
    "registry key": ("-----KEY-----\nopaque-s3cret\n", "_json_key", "-----KEY-----\nopaque-s3cret\n"),
}


@pytest.mark.parametrize("form", KEY_FILES)
def test_private_registry_credentials_from_json_key_path(tmp_path, form):
    text, user, password = KEY_FILES[form]
    key_file = tmp_path / "key"
    key_file.write_text(text)
    folder = tmp_path / "private"
    env = {**BASE_ENV, "MAIA_PRIVATE_REGISTRY": "https://harbor.example.com", "JSON_KEY_PATH": str(key_file)}
    result = run_configure(["--non-interactive"], env, folder=folder)
    assert result.returncode == 0, result.stderr
    creds = json.loads((folder / "maia-registry-credentials.json").read_text())
    assert creds == {"username": user, "password": password}  # the form the MAIA toolkit reads
    assert "s3cret" not in result.stdout + result.stderr


@pytest.mark.parametrize("names", [("REGISTRY_USERNAME", "REGISTRY_PASSWORD"), ("HARBOR_USERNAME", "HARBOR_PASSWORD")])
def test_private_registry_credentials_from_variables(tmp_path, names):
    folder = tmp_path / "private"
    env = {**BASE_ENV, "MAIA_PRIVATE_REGISTRY": "registry.example.com/maia", names[0]: "robot", names[1]: "pw-1"}
    result = run_configure(["--non-interactive"], env, folder=folder)
    assert result.returncode == 0, result.stderr
    assert json.loads((folder / "maia-registry-credentials.json").read_text()) == {"username": "robot", "password": "pw-1"}
    # a re-run from env.json needs nothing else: the credentials come from the folder
    again = run_configure([str(folder / "env.json"), "--non-interactive"], {})
    assert again.returncode == 0, again.stderr
    assert json.loads((folder / "maia-registry-credentials.json").read_text()) == {"username": "robot", "password": "pw-1"}


def test_environment_overrides_and_given_values(tmp_path):
    folder = tmp_path / "site"
    overrides = {"SSH_PORT_TYPE": "LoadBalancer", "PORT_RANGE_LOWER_BOUND": "32000", "PORT_RANGE_UPPER_BOUND": "32100",
                 "STORAGE_CLASS": "ceph-block", "URL_TYPE": "subpath", "BUCKET_NAME": "site-envs",
                 "RANCHER_TOKEN": "token-x:y", "ADMIN_EMAIL": "root@example.com"}
    result = run_configure(["--non-interactive"], {**BASE_ENV, **overrides}, folder=folder)
    assert result.returncode == 0, result.stderr
    cluster = yaml.safe_load((folder / "maia-cluster.yaml").read_text())
    assert (cluster["ssh_port_type"], cluster["port_range"], cluster["storage_class"], cluster["url_type"],
            cluster["bucket_name"]) == ("LoadBalancer", [32000, 32100], "ceph-block", "subpath", "site-envs")
    env = json.loads((folder / "env.json").read_text())
    assert env["rancher_token"] == "token-x:y" and env["admin_email"] == "root@example.com"
    # kept on a re-run without the variables
    again = run_configure([str(folder / "env.json"), "--non-interactive"], {})
    assert again.returncode == 0, again.stderr
    assert yaml.safe_load((folder / "maia-cluster.yaml").read_text()) == cluster
    assert json.loads((folder / "env.json").read_text())["rancher_token"] == "token-x:y"


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
        ({"MAIA_PRIVATE_REGISTRY": "https://harbor.example.com"}, "REGISTRY_USERNAME is not set"),
        # whole-string checks: a trailing newline never passes
        ({"CLUSTER_NAME": "x\n"}, "CLUSTER_NAME='x\\n' holds a newline or control character"),
        ({"CLUSTER_DOMAIN": "maia.example.com\n"}, "CLUSTER_DOMAIN='maia.example.com\\n' holds a newline"),
        ({"INGRESS_RESOLVER_EMAIL": "a@b.org\n"}, "INGRESS_RESOLVER_EMAIL='a@b.org\\n' holds a newline"),
        ({"MAIA_PRIVATE_REGISTRY": "-oProxyCommand=x", "REGISTRY_USERNAME": "u", "REGISTRY_PASSWORD": "p"},
         "MAIA_PRIVATE_REGISTRY='-oProxyCommand=x' is not a registry address"),
        ({"SSH_PORT_TYPE": "ClusterIP"}, "SSH_PORT_TYPE='ClusterIP' is not supported: use one of NodePort, LoadBalancer"),
        ({"PORT_RANGE_LOWER_BOUND": "70000"}, "PORT_RANGE_LOWER_BOUND='70000' is not a port number"),
        ({"BUCKET_NAME": "Bad_Bucket"}, "BUCKET_NAME='Bad_Bucket' is not an S3 bucket name"),
        ({"URL_TYPE": "path"}, "URL_TYPE='path' is not supported"),
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


def snapshot_files(folder):
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(folder.iterdir()) if p.is_file()}


def test_directory_in_the_way_exits_2_and_changes_nothing(configured):
    before = snapshot(configured)
    (configured / "MAIA_realm.json").unlink()
    (configured / "MAIA_realm.json").mkdir()
    (configured / "MAIA_realm.json" / "keep").write_text("x")
    before.pop("MAIA_realm.json")
    result = run_configure(["--non-interactive"], {**BASE_ENV, "CLUSTER_DOMAIN": "changed.example.com"}, folder=configured)
    assert result.returncode == 2, result.stderr
    assert "MAIA_realm.json is not a regular file" in result.stderr
    assert snapshot_files(configured) == before
    assert (configured / "MAIA_realm.json" / "keep").read_text() == "x"
    assert not [p for p in configured.iterdir() if p.name.startswith(".")]


def test_rerun_keeps_other_files_and_subfolders(configured):
    """The folder is swapped as a whole: what the site or the toolkit added stays."""
    (configured / "inventory.yaml").write_text("hosts: {}\n")
    (configured / "maia-cluster-kubeconfig.yaml").write_text("kubeconfig")
    os.chmod(configured / "maia-cluster-kubeconfig.yaml", 0o600)
    (configured / "maia-core-project" / "traefik_values").mkdir(parents=True)
    (configured / "maia-core-project" / "traefik_values" / "values.yaml").write_text("a: 1\n")
    result = run_configure(["--non-interactive"], {**BASE_ENV, "CLUSTER_DOMAIN": "changed.example.com"}, folder=configured)
    assert result.returncode == 0, result.stderr
    assert (configured / "inventory.yaml").read_text() == "hosts: {}\n"
    assert stat.S_IMODE((configured / "maia-cluster-kubeconfig.yaml").stat().st_mode) == 0o600
    assert (configured / "maia-core-project" / "traefik_values" / "values.yaml").read_text() == "a: 1\n"
    assert json.loads((configured / "env.json").read_text())["MAIA_DASHBOARD_DOMAIN"] == "maia.changed.example.com"
    assert not [p for p in configured.parent.iterdir() if "maia-staging" in p.name]


def test_shared_folder_is_refused_not_chmodded(tmp_path):
    """A world-writable sticky folder (as /tmp is) is refused, its mode untouched."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    result = run_configure(["--non-interactive"], BASE_ENV, folder=shared)
    assert result.returncode == 2
    assert f"CONFIG_FOLDER={str(shared)!r} is world-writable or sticky" in result.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert list(shared.iterdir()) == []


def test_folder_of_another_user_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to make a folder owned by another user")
    other = tmp_path / "other"
    other.mkdir(mode=0o755)
    os.chown(other, 65534, 65534)
    result = run_configure(["--non-interactive"], BASE_ENV, folder=other)
    assert result.returncode == 2
    assert "is owned by uid 65534" in result.stderr
    assert stat.S_IMODE(other.stat().st_mode) == 0o755 and list(other.iterdir()) == []


@pytest.mark.parametrize("existing", [False, True])
def test_unwritable_folder_exits_2_naming_it(configured, tmp_path, existing):
    """As root the folder (or its parent) is made immutable (chattr +i); otherwise read-only."""
    target = configured if existing else tmp_path / "parent"
    folder = configured if existing else target / "config"
    target.mkdir(exist_ok=True)
    before = snapshot(target)
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(target)]).returncode != 0:
            pytest.skip("chattr +i is not available here")
        undo = ["chattr", "-i", str(target)]
    else:
        os.chmod(target, 0o555)
        undo = ["chmod", "0755", str(target)]
    try:
        change = {**BASE_ENV, "CLUSTER_DOMAIN": "changed.example.com"}
        result = run_configure(["--non-interactive"], change, folder=folder)
    finally:
        subprocess.run(undo, check=True)
    assert result.returncode == 2, result.stderr
    assert f"CONFIG_FOLDER={str(folder)!r} cannot be " in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(target) == before


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("ARGOCD_PASSWORD", 12345, "ARGOCD_PASSWORD is 12345 (int), not a string"),
        ("cluster_name", ["a"], "cluster_name is ['a'] (list), not a string"),
        ("rancher_token", None, "rancher_token is None (NoneType), not a string"),
    ],
)
def test_non_string_env_json_value_exits_2(configured, key, value, message):
    env = json.loads((configured / "env.json").read_text())
    env[key] = value
    (configured / "env.json").write_text(json.dumps(env))
    before = snapshot(configured)
    result = run_configure([str(configured / "env.json"), "--non-interactive"], {})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert snapshot(configured) == before


def test_corrupt_cifs_key_exits_2(configured):
    (configured / "cifs_key").write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    before = snapshot(configured)
    result = run_configure([str(configured / "env.json"), "--non-interactive"], {})
    assert result.returncode == 2, result.stderr
    assert f"{configured / 'cifs_key'} is not a private key" in result.stderr and "Traceback" not in result.stderr
    assert snapshot(configured) == before


def test_empty_cifs_key_is_a_declined_key(configured):
    """The toolkit leaves empty cifs_key/cifs_key.pub when CIFS is declined."""
    (configured / "cifs_key").write_bytes(b"")
    (configured / "cifs_key.pub").write_bytes(b"")
    result = run_configure([str(configured / "env.json"), "--non-interactive"], {})
    assert result.returncode == 0, result.stderr
    assert (configured / "cifs_key").read_bytes() == b""
    # asked for, a key pair replaces the empty files
    result = run_configure([str(configured / "env.json"), "--non-interactive", "--cifs-key", "yes"], {})
    assert result.returncode == 0, result.stderr
    assert b"PRIVATE KEY" in (configured / "cifs_key").read_bytes()


def test_bad_realm_template_exits_2(configured, tmp_path):
    bad = tmp_path / "realm.json"
    bad.write_text('{"realm": "maia"}')
    (configured / "MAIA_realm.json").unlink()
    result = run_configure(["--non-interactive", "--realm-template", str(bad)], BASE_ENV, folder=configured)
    assert result.returncode == 2
    assert "is not the pinned MAIA_realm_template.json of maia-toolkit 2.5.0" in result.stderr
    assert not (configured / "MAIA_realm.json").exists()


def test_realm_template_is_downloaded_pinned_and_cached(tmp_path, monkeypatch):
    """From PyPI by exact URL, checked against both checksums, then read from the cache."""
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    template = realm_source.realm_template(environ)
    assert hashlib.sha256(template).hexdigest() == realm_source.TEMPLATE_SHA256
    assert realm_source.cache_path(environ).read_bytes() == template

    def no_network(*args, **kwargs):
        raise OSError("network is off")

    monkeypatch.setattr(realm_source.urllib.request, "urlopen", no_network)
    assert realm_source.realm_template(environ) == template
    realm_source.cache_path(environ).write_bytes(b"tampered")
    with pytest.raises(realm_source.RealmError, match="on an offline site give a local copy"):
        realm_source.realm_template(environ)


# A sitecustomize that SIGKILLs maia-configure at its Nth fsync: a kill in the middle of the write.
KILLER = """
import os, signal
_n = int(os.environ["MAIA_TEST_KILL_AT_FSYNC"])
_fsync = os.fsync
def _killing_fsync(fd, _count=[0]):
    _count[0] += 1
    if _count[0] == _n:
        os.kill(os.getpid(), signal.SIGKILL)
    return _fsync(fd)
os.fsync = _killing_fsync
"""


def test_killed_run_leaves_the_old_or_the_new_folder(configured, tmp_path):
    killer = tmp_path / "killer"
    killer.mkdir()
    (killer / "sitecustomize.py").write_text(KILLER)
    saved = tmp_path / "saved"
    shutil.copytree(configured, saved)
    old = snapshot(configured)
    change = {**BASE_ENV, "CLUSTER_DOMAIN": "changed.example.com"}
    assert run_configure(["--non-interactive"], change, folder=configured).returncode == 0
    new = snapshot(configured)
    assert new != old

    outcomes = set()
    for n in range(1, 40):
        shutil.rmtree(configured)
        shutil.copytree(saved, configured)
        os.chmod(configured, 0o700)
        result = run_configure(["--non-interactive"], change, folder=configured,
                               extra_env={"PYTHONPATH": str(killer), "MAIA_TEST_KILL_AT_FSYNC": str(n)})
        if result.returncode == 0:
            break  # n is past the last fsync: the run finished
        assert result.returncode == -signal.SIGKILL, result.stderr
        now = snapshot(configured)
        assert now in (old, new), f"killed at fsync {n}: a mix of old and new files"
        outcomes.add("old" if now == old else "new")
        leftovers = [p.name for p in (*configured.iterdir(), *configured.parent.iterdir())
                     if p.name.endswith((".tmp", ".backup"))]
        assert not leftovers, f"killed at fsync {n}: {leftovers}"
    assert outcomes == {"old", "new"}  # killed both before and after the swap
    # the next run clears what a killed run left beside the folder
    assert run_configure(["--non-interactive"], change, folder=configured).returncode == 0
    assert not [p for p in configured.parent.iterdir() if "maia-staging" in p.name]
    assert snapshot(configured) == new




def test_mount_inside_the_folder_is_never_swapped(configured, tmp_path):
    """A bind mount inside CONFIG_FOLDER: files are replaced one by one (with a warning),
    and nothing on the mounted side is touched."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to bind-mount")
    source = tmp_path / "shared-values"
    source.mkdir()
    (source / "keep.yaml").write_text("a: 1\n")
    (configured / "mounted").mkdir()
    if subprocess.run(["mount", "--bind", str(source), str(configured / "mounted")]).returncode != 0:
        pytest.skip("bind mounts are not allowed here")
    try:
        result = run_configure(["--non-interactive"], {**BASE_ENV, "CLUSTER_DOMAIN": "changed.example.com"},
                               folder=configured)
        assert result.returncode == 0, result.stderr
        assert "the files were replaced one by one" in result.stderr
        assert json.loads((configured / "env.json").read_text())["MAIA_DASHBOARD_DOMAIN"] == "maia.changed.example.com"
        assert os.path.ismount(configured / "mounted") or (configured / "mounted" / "keep.yaml").exists()
    finally:
        subprocess.run(["umount", str(configured / "mounted")], check=True)
    assert (source / "keep.yaml").read_text() == "a: 1\n"
