"""maia's modules and states read their pillar unmasked, as a minion loads them.

Salt 3008 masks pillar values inside modules (``pillar.get`` returns ``**********``
unless asked with ``unmask=True``). The five readers (maia_microk8s, maia_snap,
maia_core, maia_preflight and the maia_k8s states) ask Salt's own ``pillar.get``
with ``unmask=True``. This runs Salt's real loader (no daemons) in a subprocess
over the modules as a real ``saltutil.sync_all`` from ``formulas/`` leaves them in a
host's ``extension_modules`` (support/extmods.py), with a masked pillar.
"""
import json
import subprocess
import sys

import bcrypt
import pytest

from support.extmods import synced_extension_modules


PASSWORD = "s3cret-pw"
PILLAR = {"maia": {"k8s": {"microk8s_cmd": "/opt/mk8s", "snap_cmd": "/opt/snap",
                           "paths": {"snap_root": "/opt/snaps"}},
                   "config_folder": "/srv/cfg", "kubeconfig": "/srv/kubeconfig",
                   "preflight": {"min_cpus": 7},
                   "env": {"ARGOCD_PASSWORD": PASSWORD, "cluster_name": "c1",
                           "argocd_bcrypt_password": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode(),
                           "wrong_bcrypt": bcrypt.hashpw(b"another", bcrypt.gensalt(4)).decode()}}}

SCRIPT = r"""
import json, sys, tempfile
extmods, pillar = sys.argv[1], json.loads(sys.argv[2])
d = tempfile.mkdtemp()
import salt.config, salt.loader, salt.utils.secret
opts = salt.config.minion_config(None)
opts.update({"root_dir": d, "cachedir": d + "/cache", "extension_modules": extmods,
             "file_client": "local", "test": True, "pillar": salt.utils.secret.hide(pillar)})
utils = salt.loader.utils(opts)
mods = salt.loader.minion_mods(opts, utils=utils)
states = salt.loader.states(opts, mods, utils, {})
def private(loader, function, name):  # a module's private helper, run in the loader's context
    return lambda *args: loader.run(loader[function].__globals__[name], *args)
admin = states["maia_k8s.argocd_admin_password"]
out = {
    "module_file": mods["maia_snap.info"].__globals__["__file__"],
    "masked": mods["pillar.get"]("maia:env:ARGOCD_PASSWORD"),
    "microk8s_cmd": private(mods, "maia_microk8s.status", "_cmd")(),
    "snap_dir": mods["maia_microk8s.paths"]()["snap_dir"],
    "export_paths": mods["maia_microk8s.export_paths"](),
    "snap_cmd": private(mods, "maia_snap.info", "_snap_cmd")(),
    "core_kubeconfig": private(mods, "maia_core.restart_pending", "_kubeconfig")(None),
    "core_pillar": private(mods, "maia_core.restart_pending", "_maia_pillar")(),
    "preflight_own": private(mods, "maia_preflight.check", "_pillar")("maia:preflight:min_cpus"),
    "preflight_sent": private(mods, "maia_preflight.check", "_pillar")("maia:roles", [], {"maia": {"roles": ["a"]}}),
    "admin_right_hash": admin(kubeconfig=d + "/no-such-kubeconfig")["comment"],
    "admin_wrong_hash": admin(bcrypt_pillar="maia:env:wrong_bcrypt", kubeconfig=d + "/none")["comment"],
}
out["core_pillar_plain"] = type(out["core_pillar"]) is dict and type(out["core_pillar"]["env"]) is dict
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_modules_and_states_read_the_pillar_unmasked(tmp_path):
    extmods = synced_extension_modules(tmp_path)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, extmods, json.dumps(PILLAR)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["module_file"].startswith(extmods + "/modules/")  # not the checkout: no second way
    assert out["masked"] != PASSWORD  # what a module would see without unmask=True
    assert out["microk8s_cmd"] == "/opt/mk8s"
    assert out["snap_dir"] == "/opt/snaps/microk8s"
    assert out["export_paths"] == {"kubeconfig": "/srv/cfg/c1-kubeconfig.yaml", "ca_crt": "/srv/cfg/ca.crt"}
    assert out["snap_cmd"] == "/opt/snap"
    assert out["core_kubeconfig"] == "/srv/kubeconfig"
    assert out["core_pillar"] == PILLAR["maia"] and out["core_pillar_plain"] is True
    assert out["preflight_own"] == 7
    assert out["preflight_sent"] == ["a"]
    # the state compared the unmasked password with the unmasked hash: it got past both checks
    assert "not the bcrypt" not in out["admin_right_hash"] and "not a bcrypt" not in out["admin_right_hash"]
    assert "empty" not in out["admin_right_hash"]
    assert "is not the bcrypt of maia:env:ARGOCD_PASSWORD" in out["admin_wrong_hash"]
