"""_utils/maia_pillar.py: the unmasked pillar lookups of maia_microk8s, maia_snap and maia_k8s.

The loading tests run Salt's real loader (no daemons) in a subprocess, once as a
minion that synced maia-salt's modules from file_roots (no maia-salt installed:
``__utils__`` has maia_pillar) and once with maia-salt installed (modules from its
salt.loader entry point, from which Salt 3008 loads no utils).
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import salt.utils.secret

ROOT = Path(__file__).resolve().parents[2]

PILLAR = {"maia": {"k8s": {"microk8s_cmd": "/opt/mk8s", "snap_cmd": "/opt/snap"},
                   "env": {"ARGOCD_PASSWORD": "s3cret-pw", "cluster_name": "c1"}}}


@pytest.fixture(scope="module")
def maia_pillar():
    spec = importlib.util.spec_from_file_location("_unit_maia_pillar", ROOT / "_utils" / "maia_pillar.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_get_returns_plain_values_from_a_masked_pillar(maia_pillar):
    masked = salt.utils.secret.hide(PILLAR)
    env = maia_pillar.get(masked, "maia:env")
    assert type(env) is dict and env == PILLAR["maia"]["env"]
    assert maia_pillar.get(masked, "maia:env:ARGOCD_PASSWORD") == "s3cret-pw"


def test_get_returns_the_default_for_a_missing_key(maia_pillar):
    assert maia_pillar.get(PILLAR, "maia:k8s:nope", "dflt") == "dflt"
    assert maia_pillar.get(PILLAR, "maia:nothing:here") is None


SCRIPT = r"""
import json, shutil, sys, tempfile
mode, root, pillar = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
d = tempfile.mkdtemp()
if mode == "synced":
    sys.modules["maia_salt"] = None  # not installed: its salt.loader entry point cannot load
    for kind, src in (("modules", "_modules"), ("states", "_states"), ("utils", "_utils")):
        shutil.copytree(f"{root}/{src}", f"{d}/extmods/{kind}", ignore=shutil.ignore_patterns("__pycache__"))
import salt.config, salt.loader, salt.utils.secret
opts = salt.config.minion_config(None)
opts.update({"root_dir": d, "cachedir": d + "/cache", "extension_modules": d + "/extmods",
             "utils_dirs": [d + "/extmods/utils"], "file_client": "local",
             "pillar": salt.utils.secret.hide(pillar)})
utils = salt.loader.utils(opts)
mods = salt.loader.minion_mods(opts, utils=utils)
states = salt.loader.states(opts, mods, utils, {})
def helper(loader, function):  # the module's _pillar, run in the loader's context
    return lambda *args: loader.run(loader[function].__globals__["_pillar"], *args)
out = {
    "utils_has_maia_pillar": "maia_pillar.get" in utils,
    "module_file": mods["maia_snap.info"].__globals__["__file__"],
    "maia_microk8s": helper(mods, "maia_microk8s.status")("maia:k8s:microk8s_cmd"),
    "maia_snap": helper(mods, "maia_snap.info")("maia:k8s:snap_cmd"),
    "maia_k8s": helper(states, "maia_k8s.object_present")("maia:env:ARGOCD_PASSWORD"),
    "maia_k8s_env": helper(states, "maia_k8s.object_present")("maia:env"),
    "default": helper(mods, "maia_snap.info")("maia:nope", "dflt"),
}
out["maia_k8s_env_plain"] = type(out["maia_k8s_env"]) is dict
print("RESULT " + json.dumps(out))
"""


def _load_in(mode, tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(ROOT), json.dumps(PILLAR)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["synced", "installed"])
def test_modules_read_unmasked_pillar_however_salt_loaded_them(mode, tmp_path):
    out = _load_in(mode, tmp_path)
    if mode == "synced":  # saltutil.sync_all / salt-ssh: modules and utils in extension_modules
        assert out["utils_has_maia_pillar"] is True
        assert "/extmods/modules/" in out["module_file"]
    else:  # the entry point: modules from the checkout (or package), no utils in __utils__
        assert out["module_file"].startswith(str(ROOT / "_modules"))
    assert out["maia_microk8s"] == "/opt/mk8s"
    assert out["maia_snap"] == "/opt/snap"
    assert out["maia_k8s"] == "s3cret-pw"
    assert out["maia_k8s_env"] == PILLAR["maia"]["env"] and out["maia_k8s_env_plain"] is True
    assert out["default"] == "dflt"
