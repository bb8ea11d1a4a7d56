"""The Rancher runner ``maia_rancher.local_kubeconfig`` (``_runners/maia_rancher.py`` over
``maia_salt.rancher``), loaded by Salt's own runner loader, on a site made by maia-configure.

STAND-IN (docs/standins.md: this machine runs no Rancher): the Rancher v3 stand-in of
maia_lab.standins behind the ingress stand-in on loopback, with a certificate for
``mgmt.<domain>`` signed by a test CA the runner is given (``services:ca_pem``); the name does not
resolve here, so every request also goes through the ingress-address fallback.

Against a real Rancher: ``MAIA_E2E_RANCHER_URL=https://mgmt.<domain>`` with
``MAIA_E2E_RANCHER_PASSWORD`` (and ``MAIA_E2E_CA_FILE`` for a private CA) runs the first-run and
re-run tests there (the write counts are then not checked: there is no request record).
"""
import json
import os
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import salt.config
import salt.loader
import yaml
from salt.exceptions import SaltRunnerError

from support.admin_services import rancher_front
from support.paths import REPO
from support.site import SITE_ENV, make_site

DOMAIN = SITE_ENV["CLUSTER_DOMAIN"]
REAL = os.environ.get("MAIA_E2E_RANCHER_URL")
standin_only = pytest.mark.skipif(bool(REAL), reason="needs the stand-in's request record")


@pytest.fixture
def site(tmp_path):
    folder = make_site(tmp_path / "config")
    if REAL:
        env = json.loads((folder / "env.json").read_text())
        env["rancher_password"] = os.environ["MAIA_E2E_RANCHER_PASSWORD"]
        (folder / "env.json").write_text(json.dumps(env))
    return folder


@pytest.fixture
def rancher(site):
    if REAL:
        yield None
        return
    front = rancher_front(site, DOMAIN)
    yield front.rancher
    front.stop()


@pytest.fixture
def run(site, rancher, tmp_path):
    opts = salt.config.master_config(None)
    opts.update({"cachedir": str(tmp_path / "cache"), "file_roots": {"base": [str(REPO / "formulas")]},
                 "ext_pillar": [{"maia": {"config_folder": str(site)}}]})
    runner = salt.loader.runner(opts)["maia_rancher.local_kubeconfig"]
    if REAL:
        parts = urlsplit(REAL)
        services = {"port": parts.port or 443}
        if os.environ.get("MAIA_E2E_CA_FILE"):
            services["ca_pem"] = Path(os.environ["MAIA_E2E_CA_FILE"]).read_text()
    else:
        services = rancher.services
    return lambda **kw: runner("maia-node-0", services=services, **kw)


def _token(site):
    return json.loads((site / "env.json").read_text())["rancher_token"]


def test_first_run_writes_local_yaml_and_token_then_a_rerun_writes_nothing(site, rancher, run):
    first = run()
    local = site / "local.yaml"
    token = _token(site)
    assert first["token"] == "replaced" and token
    assert set(first["settings"]) == {"eula-agreed", "first-login"}
    assert first["settings"]["first-login"] == {"old": "true", "new": "false"}
    assert yaml.safe_load(local.read_text())["users"][0]["user"]["token"] == token
    assert yaml.safe_load(local.read_text())["clusters"][0]["cluster"]["server"].endswith("/k8s/clusters/local")
    for path in (local, site / "env.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert first["files"][str(path)]["changed"] is True
    assert token not in json.dumps(first)
    if rancher is not None:
        assert rancher.settings["first-login"] == "false" and rancher.settings["eula-agreed"]
        rancher.reset_requests()
    before = (local.stat().st_mtime_ns, (site / "env.json").stat().st_mtime_ns)

    again = run()
    assert again == {"token": "kept", "settings": {}, "files": {}}
    assert _token(site) == token
    assert (local.stat().st_mtime_ns, (site / "env.json").stat().st_mtime_ns) == before
    if rancher is not None:
        assert rancher.writes() == []


@standin_only
def test_a_revoked_token_is_replaced_once(site, rancher, run):
    run()
    old = _token(site)
    rancher.revoke(old.split(":")[0])
    predicted = run(test=True)
    assert predicted["token"] == "would be replaced"
    assert predicted["files"] == {str(site / name): {"changed": True, "existed": True} for name in ("local.yaml", "env.json")}
    assert _token(site) == old
    replaced = run()
    new = _token(site)
    assert replaced["token"] == "replaced" and new != old
    assert yaml.safe_load((site / "local.yaml").read_text())["users"][0]["user"]["token"] == new
    assert len(rancher.token_names("kubeconfig")) == 1
    rancher.reset_requests()
    assert run()["token"] == "kept" and _token(site) == new and rancher.writes() == []


@standin_only
def test_a_wrong_password_fails_clearly_and_writes_nothing(site, rancher, run):
    env = json.loads((site / "env.json").read_text())
    env["rancher_password"] = "not-the-rancher-password"
    rancher._password = "the-real-rancher-password"
    (site / "env.json").write_text(json.dumps(env))
    before = {p.name: p.read_bytes() for p in site.iterdir() if p.is_file()}
    with pytest.raises(SaltRunnerError, match="refused user admin with env.json rancher_password") as err:
        run()
    assert "not-the-rancher-password" not in str(err.value)
    assert {p.name: p.read_bytes() for p in site.iterdir() if p.is_file()} == before
    assert not (site / "local.yaml").exists()
    assert [w.path for w in rancher.writes()] == ["/v3-public/localProviders/local"]


@standin_only
def test_a_kubeconfig_for_another_server_is_refused(site, rancher, run, monkeypatch):
    """What Rancher returns is data: a kubeconfig naming another server is not written."""
    monkeypatch.setattr(rancher, "_kubeconfig", lambda: yaml.safe_dump({
        "clusters": [{"name": "x", "cluster": {"server": "https://elsewhere.example:6443"}}],
        "users": [{"name": "x", "user": {"token": "token-abc:stolen-kubeconfig-token"}}]}))
    with pytest.raises(SaltRunnerError, match="not https://mgmt"):
        run()
    assert not (site / "local.yaml").exists() and not _token(site)
