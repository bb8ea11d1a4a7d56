"""CONFIG_FOLDERs made by the MAIA toolkit's own ``MAIA_Configure_Installation.sh``.

The reference is the script shipped in the ``maia-toolkit`` 2.5.0 wheel on PyPI.
The wheel is downloaded at test time and installed ``--no-deps`` into a throwaway
virtualenv (the script imports ``MAIA.versions`` and ``MAIA.maia_k8s_distros``,
which need nothing else). The script then runs as it is, with the Debian tools
it calls (``jq``, ``yq``, ``htpasswd``, ``openssl``, ``ssh-keygen``). Only its
realm download is replaced: a ``wget`` put first on PATH copies the
``MAIA_realm_template.json`` of the same wheel. Nothing of the toolkit is stored
in this repository.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TOOLKIT = "maia-toolkit==2.5.0"
TOOLS = ("jq", "yq", "htpasswd", "openssl", "ssh-keygen")

_WGET_SHIM = """#!/bin/sh
# Test stand-in for the realm download of MAIA_Configure_Installation.sh only:
# copies the template of the installed toolkit to the -O target.
out=""
while [ $# -gt 0 ]; do
  case "$1" in -O) out="$2"; shift 2 ;; *) shift ;; esac
done
exec cp "$MAIA_REFERENCE_REALM" "$out"
"""


class ReferenceUnavailable(RuntimeError):
    """The toolkit or one of its tools cannot be had on this machine."""


class Reference:
    """A throwaway virtualenv holding maia-toolkit 2.5.0 and a way to run its configure script."""

    def __init__(self, base: Path):
        self.base = Path(base)
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        if missing:
            raise ReferenceUnavailable(f"missing Debian tools {missing} (make system-deps installs them)")
        wheels = self.base / "wheels"
        self._run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", TOOLKIT, "-d", str(wheels)])
        self.wheel = next(wheels.glob("maia_toolkit-*.whl"))
        self.venv = self.base / "venv"
        self._run([sys.executable, "-m", "venv", str(self.venv)])
        self._run([str(self.venv / "bin" / "pip"), "install", "--no-deps", "-q", str(self.wheel)])
        self.script = self.venv / "bin" / "MAIA_Configure_Installation.sh"
        found = list(self.venv.glob("lib/python*/site-packages/MAIA/configs/MAIA_realm_template.json"))
        if not self.script.is_file() or not found:
            raise ReferenceUnavailable(f"{TOOLKIT} has no MAIA_Configure_Installation.sh or realm template")
        self.realm_template = found[0]
        self.shim = self.base / "shim"
        self.shim.mkdir(exist_ok=True)
        (self.shim / "wget").write_text(_WGET_SHIM)
        (self.shim / "wget").chmod(0o755)

    @staticmethod
    def _run(cmd):
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise ReferenceUnavailable(f"{' '.join(cmd)} failed: {result.stderr.strip()[-2000:]}")

    def configure(self, env: dict, answer_cifs: str, args=(), cwd=None) -> subprocess.CompletedProcess:
        """Run the reference script with exactly ``env`` (plus PATH/HOME) and the CIFS answer on stdin."""
        full_env = {
            "PATH": f"{self.shim}:{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.base),
            "MAIA_REFERENCE_REALM": str(self.realm_template),
            **env,
        }
        return subprocess.run(
            ["bash", str(self.script), *args], input=f"{answer_cifs}\n", capture_output=True, text=True,
            env=full_env, cwd=cwd or self.base, timeout=300,
        )

    def make_folder(self, folder: Path, env: dict, answer_cifs: str) -> Path:
        result = self.configure({**env, "CONFIG_FOLDER": str(folder)}, answer_cifs)
        if result.returncode != 0 or not (folder / "env.json").is_file():
            raise AssertionError(f"the reference script failed:\n{result.stdout}\n{result.stderr}")
        return folder


def reference_or_skip(base: Path) -> Reference:
    """A :class:`Reference` in ``base``; the test is skipped when the toolkit or its tools cannot be had."""
    import pytest

    try:
        return Reference(base)
    except ReferenceUnavailable as exc:
        pytest.skip(f"the reference MAIA_Configure_Installation.sh cannot run here: {exc}")


PRIVATE_SITE = {
    "MAIA_PRIVATE_REGISTRY": "registry.example.test/maia",
    "REGISTRY_USERNAME": "robot$maia+ci",
    "REGISTRY_PASSWORD": "Pa55-registry-secret",
    "CLUSTER_DOMAIN": "maia.private.test",
    "CLUSTER_NAME": "maia-private",
    "INGRESS_RESOLVER_EMAIL": "ops@private.test",
    "K8S_DISTRIBUTION": "microk8s",
}
PUBLIC_SITE = {
    "MAIA_PRIVATE_REGISTRY": "",
    "CLUSTER_DOMAIN": "maia.public.test",
    "CLUSTER_NAME": "maia-public",
    "INGRESS_RESOLVER_EMAIL": "",
    "K8S_DISTRIBUTION": "k3s",
}


def copy_folder(src: Path, dst: Path) -> Path:
    """A copy with the same modes (the reference's 0644 files and 0755 folder)."""
    shutil.copytree(src, dst, symlinks=True)
    os.chmod(dst, os.stat(src).st_mode & 0o7777)
    return dst
