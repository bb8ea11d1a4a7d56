"""The last state of stage 2's export, ``maia-k8s-export-compared`` (``maia_microk8s.export_compared``):
a change only when the controller's copy (the digest orch.maia passes in ``maia:orch:exported``, the
kubeconfig runner's record of its last fetch) is not what the host exports now, so that orch.maia's
fetch step (``onchanges``) runs only then. Real ``salt-call --local`` runs of maia.k8s.

STAND-INS (docs/standins.md): the MicroK8s stand-in and the Kubernetes API stand-in (this machine
runs neither snapd/MicroK8s nor a kube-apiserver); MicroK8s connected to, not installed, so that
the runs are short.
"""
import json
import subprocess

from k8s.harness import changed_ids, failed
from maia_salt import sealed
from support.modules import load_salt_module

STATE = "maia-k8s-export-compared"
CONNECT = {"install_microk8s": False, "connect_to_microk8s": True, "enable_oidc_microk8s": False,
           "enable_ca": False, "install_argocd": False}


def _state(data):
    (ret,) = [v for v in data.values() if v["__id__"] == STATE]
    return ret


def _run(site, exported=None, test=False):
    """maia.k8s with ``maia:orch:exported`` as orch.maia passes it (None: no such pillar)."""
    site.pillar["maia"].pop("orch", None)
    site.write_pillar({"maia": {"orch": {"exported": exported}}} if exported is not None else None)
    rc, data, proc = site.apply(test=test)
    assert isinstance(data, dict) and not failed(data), proc.stdout[-3000:] + proc.stderr[-3000:]
    return data


def _fetched_digest(site):
    """What the kubeconfig runner records after fetching this host's export (its own ``_open`` of
    the bundle ``maia_microk8s.export_bundle`` seals)."""
    runner = load_salt_module("_runners/maia_kubeconfig.py", "_k8s_export_compared_runner")
    private, public = sealed.keypair()
    rc, bundle, proc = site.salt_call("maia_microk8s.export_bundle", *sealed.call_args({"recipient": public}))
    assert rc == 0, proc.stderr[-2000:]
    _data, digest = runner._open(private, bundle)
    return digest


def test_the_export_is_compared_with_the_controllers_copy(fresh_api, new_site):
    site = new_site(fresh_api, {"maia": {"k8s": CONNECT}})
    subprocess.run([site.standin.snap_cmd, "install", "microk8s", "--classic", "--channel=1.34/stable"],
                   check=True, capture_output=True)

    # a new site: the controller has no copy ("" from orch.maia); the plan predicts what the run does
    plan = _run(site, {"maia-node-0": ""}, test=True)
    first = _run(site, {"maia-node-0": ""})
    assert changed_ids(plan) == changed_ids(first) and STATE in changed_ids(first)
    assert _state(plan)["result"] is None and _state(first)["result"] is True
    assert _state(first)["changes"] == {"controller copy": {"old": "missing", "new": "fetched after this stage"}}

    # the host's digest is the runner's: the same bytes, hashed on each side
    digest = _fetched_digest(site)
    rc, on_host, _ = site.salt_call("maia_microk8s.export_digest")
    assert rc == 0 and on_host == digest and len(digest) == 64

    # converged: the controller's copy is this export; no change, in a plan or a run
    for test in (True, False):
        data = _run(site, {"maia-node-0": digest}, test=test)
        assert changed_ids(data) == set(), _state(data)
        assert f"current (sha256 {digest[:12]})" in _state(data)["comment"]

    # an outdated copy (another export fetched last, or a run that stopped before its fetch)
    data = _run(site, {"maia-node-0": "0" * 64})
    assert changed_ids(data) == {STATE}
    assert _state(data)["changes"]["controller copy"]["old"] == "outdated"
    # another host's record is not this host's
    assert changed_ids(_run(site, {"maia-node-1": digest})) == {STATE}

    # this run changes the export (another API address): the plan, which still finds the old
    # export on the host, predicts the outdated copy, as the run then finds it
    site.write_pillar({"maia": {"k8s": {"api_server_url": "https://198.18.0.12:16443"}}})
    plan = _run(site, {"maia-node-0": digest}, test=True)
    run = _run(site, {"maia-node-0": digest})
    assert changed_ids(plan) == changed_ids(run) == {"maia-k8s-microk8s-kubeconfig-exported", STATE}
    assert _state(plan)["result"] is None
    assert _state(plan)["changes"] == _state(run)["changes"]
    moved = _fetched_digest(site)
    assert moved != digest
    assert changed_ids(_run(site, {"maia-node-0": moved})) == set()

    # outside orch.maia (salt-call, a stage applied by hand) nothing to compare with: no change
    data = _run(site)
    assert changed_ids(data) == set() and "not run by orch.maia" in _state(data)["comment"]

    # digests only: no credential of the export in any return
    kubeconfig = (site.config_folder / "maia-test-kubeconfig.yaml").read_text()
    token = next(line.split(":", 1)[1].strip() for line in kubeconfig.splitlines() if "token:" in line)
    assert token and token not in json.dumps([plan, run, data, first])
