"""orch.maia's Rancher step (the orchestration state ``maia_rancher.local_kubeconfig_recorded``,
``_orch_states/maia_rancher.py``) run by ``salt-run state.orch`` on a real salt-factories master,
under ``test=True`` and for real: ``maia install --test`` predicts it, and a converged site
predicts nothing.

The step is orch.maia's (its id, state and arguments; tests/functional/test_orch_render.py checks
that orch.maia compiles to them), without its ``require`` on the admin stage (no minion runs
stage 4 here) and with the services of the stand-in; it runs from an orchestration SLS of its
own in the master's file_roots (rendering orch.maia here too would cost half a minute a run).

STAND-IN (docs/standins.md: this machine runs no Rancher): the Rancher v3 stand-in of
maia_lab.standins behind the ingress stand-in on loopback, with a certificate the step is given
(``services:ca_pem``). Against a real Rancher: ``MAIA_E2E_RANCHER_URL=https://mgmt.<domain>`` with
``MAIA_E2E_RANCHER_PASSWORD`` (and ``MAIA_E2E_CA_FILE``), as tests/admin/test_rancher_runner.py;
then the write requests are not checked (there is no request record).
"""
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from maia_salt import plan, summary
from maia_salt.orchestrations import INSTALL

from support.admin_services import rancher_front
from support.paths import REPO
from support.minion import SKIP_MACHINE_GRAINS
from support.site import SITE_ENV, make_site

STEP = "maia-orch-rancher-local-kubeconfig"
REAL = os.environ.get("MAIA_E2E_RANCHER_URL")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = make_site(tmp_path_factory.mktemp("rancher-site") / "config")
    if REAL:
        env = json.loads((folder / "env.json").read_text())
        env["rancher_password"] = os.environ["MAIA_E2E_RANCHER_PASSWORD"]
        (folder / "env.json").write_text(json.dumps(env))
    return folder


@pytest.fixture(scope="module")
def rancher(site):
    if REAL:
        yield None
        return
    front = rancher_front(site, SITE_ENV["CLUSTER_DOMAIN"])
    yield front.rancher
    front.stop()


@pytest.fixture(scope="module")
def master(salt_factories, site, tmp_path_factory):
    roots = tmp_path_factory.mktemp("rancher-orch")
    overrides = {"ext_pillar": [{"maia": {"config_folder": str(site)}}],
                 "file_roots": {"base": [str(REPO / "formulas"), str(roots)]}, **SKIP_MACHINE_GRAINS}
    factory = salt_factories.salt_master_daemon("maia-rancher-master", overrides=overrides)
    factory.orch_root = roots
    with factory.started():
        yield factory


@pytest.fixture(scope="module")
def orch(master, rancher):
    """``orch(test)``: the orchestration return of orch.maia's Rancher step (salt-run --out json)."""
    salt_run = master.salt_run_cli(timeout=300)
    step = [{"name": "maia-node-0"}, {"services": services_of(rancher)}, {"failhard": True}]
    (master.orch_root / "rancher_step.sls").write_text(
        yaml.safe_dump({STEP: {"maia_rancher.local_kubeconfig_recorded": step}}))

    def run(test):
        ret = salt_run.run("state.orch", "rancher_step", *(["test=True"] if test else []))
        assert isinstance(ret.data, dict), ret
        return ret.data

    return run


def services_of(rancher):
    if rancher is not None:
        return rancher.services
    services = {"port": urlsplit(REAL).port or 443}
    if os.environ.get("MAIA_E2E_CA_FILE"):
        services["ca_pem"] = Path(os.environ["MAIA_E2E_CA_FILE"]).read_text()
    return services


def step_of(data):
    (steps,) = (data.get("data") or data).values()
    (step,) = [v for k, v in steps.items() if summary.state_id(k) == STEP]
    return step


def files(site):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in site.iterdir() if p.is_file()}


def test_the_step_predicts_the_first_run_writes_nothing_then_a_converged_site_predicts_nothing(site, rancher, orch):
    before = files(site)
    predicted_data = orch(test=True)
    predicted = step_of(predicted_data)
    expected = {"rancher_token", "setting eula-agreed", "setting first-login", str(site / "local.yaml"),
                str(site / "env.json")}
    assert predicted["result"] is None and set(predicted["changes"]) == expected, predicted
    assert predicted["changes"]["rancher_token"] == {"old": "<not usable>", "new": "<masked>"}
    assert predicted["changes"][str(site / "local.yaml")] == {"old": None, "new": "<content not shown>"}
    assert predicted["changes"]["setting first-login"]["new"] == "false"
    # nothing written: no file of CONFIG_FOLDER, no request that changes Rancher
    assert files(site) == before
    if rancher is not None:
        assert rancher.writes() == [] and rancher.settings["first-login"] == "true"
    # maia install --test shows it as a row of its own, with its changes (placeholders only)
    results, failed = summary.from_orchestration(predicted_data, orchestration=INSTALL)
    assert failed == [] and [(r.stage, r.host, r.changed) for r in results] == [("rancher", "maia-node-0", 1)]
    shown = plan.render(results)
    assert f"WOULD CHANGE rancher on maia-node-0: {STEP}" in shown and "rancher_token: <not usable> -> <masked>" in shown

    first = step_of(orch(test=False))
    token = json.loads((site / "env.json").read_text())["rancher_token"]
    assert first["result"] is True and token
    # what the first run changed is what was predicted (the EULA's time is the moment of acceptance)
    assert set(first["changes"]) == expected, first
    for key in ("rancher_token", str(site / "local.yaml"), str(site / "env.json")):
        assert first["changes"][key] == predicted["changes"][key], key
    assert first["changes"]["setting first-login"] == {"old": "true", "new": "false"}
    assert token not in json.dumps(first) and token not in shown
    if rancher is not None:
        rancher.reset_requests()
    written = files(site)

    # (a real re-run reporting no change: the e2e tests' re-runs, row rancher)
    converged = step_of(orch(test=True))
    assert converged["result"] is True and converged["changes"] == {}, converged
    assert files(site) == written
    if rancher is not None:
        assert rancher.writes() == []


@pytest.mark.skipif(bool(REAL), reason="needs the stand-in's request record")
def test_a_refused_password_fails_the_step_with_the_reason_and_writes_nothing(site, rancher, orch):
    rancher.revoke_all()  # the recorded token no longer works: the step must log in
    kept = rancher._password
    rancher._password = "the-password-rancher-has-now"
    try:
        before = files(site)
        step = step_of(orch(test=False))
    finally:
        rancher._password = kept
    assert step["result"] is False and step["changes"] == {}
    assert "refused user admin with env.json rancher_password" in step["comment"], step
    assert files(site) == before
