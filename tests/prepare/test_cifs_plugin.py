"""Our CIFS flexVolume driver (`cifs`) and `decrypt_string.py`, run as programs.

The real `mount -t cifs` can't run here (no cifs filesystem in this kernel):
a stand-in `mount` first in PATH records the arguments and $PASSWD, so the
tests check exactly the command the driver builds. Credentials are made the
way the MAIA toolkit makes them: RSA-OAEP/SHA-256 with the public key, written
as hex (base64 is accepted too), then base64 as Kubernetes passes secret values
to flexVolume drivers.
"""
import base64
import json
import shutil
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from prepare.conftest import CIFS_FILES


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def plugin(tmp_path, key):
    d = tmp_path / "fstab~cifs"
    d.mkdir()
    for name in ("cifs", "decrypt_string.py"):
        shutil.copy2(CIFS_FILES / name, d / name)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (d / "private_key.pem").write_bytes(pem)
    (d / "private_key.pem").chmod(0o600)
    return d


def encrypt(key, text: str, encoding: str = "hex") -> str:
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    data = key.public_key().encrypt(text.encode(), oaep)
    return data.hex() if encoding == "hex" else base64.b64encode(data).decode()


def k8s_secret(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def run(plugin_dir, *args, env=None):
    proc = subprocess.run([sys.executable, str(plugin_dir / "cifs"), *args], capture_output=True, text=True, env=env)
    return proc.returncode, json.loads(proc.stdout), proc


def test_files_are_executable_scripts():
    for name in ("cifs", "decrypt_string.py"):
        path = CIFS_FILES / name
        assert path.stat().st_mode & 0o111, f"{name} must be executable"
        assert path.read_text().startswith("#!/usr/bin/env python3\n")


def test_init(plugin):
    code, out, _ = run(plugin, "init")
    assert code == 0 and out == {"status": "Success", "capabilities": {"attach": False}}


def test_mount_builds_the_cifs_command(plugin, key, cifs_env, tmp_path):
    env, record = cifs_env
    target = tmp_path / "pods" / "vol"
    options = {
        "networkPath": "//nas.example.org/share",
        "mountOptions": "vers=3.0,uid=1000, gid=1000",
        "kubernetes.io/secret/username": k8s_secret(encrypt(key, "maia-user")),
        "kubernetes.io/secret/password": k8s_secret(encrypt(key, "s3cr3t,pass")),
        "kubernetes.io/secret/domain": k8s_secret(encrypt(key, "WORKGROUP", "base64")),
        "kubernetes.io/fsType": "",
    }
    code, out, proc = run(plugin, "mount", str(target), json.dumps(options), env=env)
    assert code == 0 and out == {"status": "Success"}, proc.stderr
    lines = record.read_text().splitlines()
    assert lines[:-1] == [
        "-t", "cifs", "//nas.example.org/share", str(target),
        "-o", "username=maia-user,domain=WORKGROUP,vers=3.0,uid=1000,gid=1000",
    ]
    assert lines[-1] == "PASSWD=s3cr3t,pass"  # via the environment, never in argv
    assert "s3cr3t" not in proc.stdout + proc.stderr
    assert target.is_dir()


def test_mount_failures_are_reported_as_flexvolume_json(plugin, key, cifs_env, tmp_path):
    env, _ = cifs_env
    good_user = k8s_secret(encrypt(key, "u"))
    code, out, _ = run(plugin, "mount", str(tmp_path / "m"), json.dumps({"networkPath": "nas/share"}), env=env)
    assert code == 1 and out["status"] == "Failure" and "networkPath" in out["message"]
    opts = {"networkPath": "//nas/share", "kubernetes.io/secret/username": good_user}
    code, out, _ = run(plugin, "mount", str(tmp_path / "m"), json.dumps(opts), env=env)
    assert code == 1 and "'password' is missing" in out["message"]
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    opts["kubernetes.io/secret/password"] = k8s_secret(encrypt(other_key, "x"))
    code, out, _ = run(plugin, "mount", str(tmp_path / "m"), json.dumps(opts), env=env)
    assert code == 1 and "decryption failed" in out["message"]
    code, out, _ = run(plugin, "mount", str(tmp_path / "m"), "{not json", env=env)
    assert code == 1 and "not JSON" in out["message"]
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "data").write_text("x")
    opts["kubernetes.io/secret/password"] = k8s_secret(encrypt(key, "x"))
    code, out, _ = run(plugin, "mount", str(busy), json.dumps(opts), env=env)
    assert code == 1 and "not empty" in out["message"]


def test_unmount_of_unmounted_dir_and_unsupported_calls(plugin, tmp_path):
    code, out, _ = run(plugin, "unmount", str(tmp_path / "never-mounted"))
    assert code == 0 and out == {"status": "Success"}
    code, out, _ = run(plugin, "attach", "{}", "node")
    assert code == 1 and out["status"] == "Not supported"


def test_decrypt_string_cli(plugin, key):
    ok = subprocess.run([sys.executable, str(plugin / "decrypt_string.py"), str(plugin / "private_key.pem"), encrypt(key, "hello")],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout == "hello\n"
    b64 = subprocess.run([sys.executable, str(plugin / "decrypt_string.py"), str(plugin / "private_key.pem"), encrypt(key, "hi", "base64")],
                         capture_output=True, text=True)
    assert b64.returncode == 0 and b64.stdout == "hi\n"
    bad = subprocess.run([sys.executable, str(plugin / "decrypt_string.py"), str(plugin / "private_key.pem"), "%%%"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "neither hex nor base64" in bad.stderr


@pytest.mark.parametrize(
    "user, extra, message",
    [
        ("maia,uid=0", "", "secret field 'username' holds a comma"),
        ("maia\nuid=0", "", "secret field 'username' holds a comma or a control character"),
        ("maia", "vers=3.0,uid=0 gid=0", "mountOptions entry 'uid=0 gid=0' is not name or name=value"),
        ("maia", "vers=3.0,username=root", "mountOptions entry 'username' would override"),
        ("maia", "credentials=/root/creds", "mountOptions entry 'credentials' would override"),
        ("maia", "uid=0\nuid=1", "is not name or name=value"),
    ],
)
def test_separators_in_username_or_mount_options_are_refused(plugin, key, cifs_env, tmp_path, user, extra, message):
    """A comma in the username, or a blank/credential option in mountOptions,
    would add mount.cifs options of its own: the driver refuses and mounts nothing."""
    env, record = cifs_env
    options = {
        "networkPath": "//nas.example.org/share",
        "mountOptions": extra,
        "kubernetes.io/secret/username": k8s_secret(encrypt(key, user)),
        "kubernetes.io/secret/password": k8s_secret(encrypt(key, "pw")),
    }
    code, out, _ = run(plugin, "mount", str(tmp_path / "vol"), json.dumps(options), env=env)
    assert code == 1 and out["status"] == "Failure"
    assert message in out["message"]
    assert not record.exists(), "mount must not have been called"


def test_separator_in_domain_is_refused(plugin, key, cifs_env, tmp_path):
    env, record = cifs_env
    options = {
        "networkPath": "//nas.example.org/share",
        "kubernetes.io/secret/username": k8s_secret(encrypt(key, "maia")),
        "kubernetes.io/secret/password": k8s_secret(encrypt(key, "pw")),
        "kubernetes.io/secret/domain": k8s_secret(encrypt(key, "WG,file_mode=0777")),
    }
    code, out, _ = run(plugin, "mount", str(tmp_path / "vol"), json.dumps(options), env=env)
    assert code == 1 and "secret field 'domain' holds a comma" in out["message"]
    assert not record.exists()
