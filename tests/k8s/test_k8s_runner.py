"""The kubeconfig runner over a real salt-master and salt-minion (pytest-salt-factories).

No stand-in: the minion serves files that maia.k8s.microk8s.export would have
written (the MicroK8s parts are covered by the other tests); the runner fetches
them over the master's bus into the CONFIG_FOLDER of the maia ext_pillar. The
pair-writing tests load the runner module on its own and interrupt it.
"""
import hashlib
import importlib.util
import os
import stat

import pytest

from maia_salt.kubeconfig_check import rebuilt_text

from support.kubeconfigs import exec_user, kubeconfig
from support.modules import load_salt_module
from support.secrets import find_secrets, salt_places
from support.paths import REPO
from support.minion import SKIP_MACHINE_GRAINS
from support.site import make_site

# maia-node-0's address in the site's inventory, with the MicroK8s API port
SERVER = "https://198.18.0.11:16443"
KUBECONFIG = kubeconfig(SERVER, user={"token": "runner-test-token"})
WRITTEN = rebuilt_text(KUBECONFIG, "test", SERVER)
CA = "-----BEGIN CERTIFICATE-----\nrunner-test\n-----END CERTIFICATE-----\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("site") / "config")


@pytest.fixture(scope="module")
def salt_master(salt_factories, site):
    overrides = {
        "ext_pillar": [{"maia": {"config_folder": str(site)}}],
        "file_roots": {"base": [str(REPO / "formulas")]},
        **SKIP_MACHINE_GRAINS,
    }
    factory = salt_factories.salt_master_daemon("k8s-runner-master", overrides=overrides)
    with factory.started():
        yield factory


@pytest.fixture(scope="module")
def salt_minion(salt_master):
    factory = salt_master.salt_minion_daemon("maia-node-0", overrides={"log_level_logfile": "info", **SKIP_MACHINE_GRAINS})
    with factory.started():
        # maia_microk8s reaches the minion from the master's file_roots, as the orchestration syncs it
        ret = salt_master.salt_cli(timeout=180).run("saltutil.sync_all", minion_tgt=factory.id)
        assert ret.returncode == 0 and "modules.maia_microk8s" in ret.data["modules"], ret.stdout + ret.stderr
        yield factory


def test_fetch_kubeconfig_over_the_master(salt_master, salt_minion, site, tmp_path):
    exported = tmp_path / "exported"
    exported.mkdir()
    (exported / "func-kubeconfig.yaml").write_text(KUBECONFIG)
    (exported / "ca.crt").write_text(CA)
    cli = salt_master.salt_run_cli(timeout=120)

    ret = cli.run("maia_kubeconfig.fetch_kubeconfig", "maia-node-0", f"remote_folder={exported}")
    assert ret.returncode == 0, ret.stderr
    kubeconfig, ca = site / "func-kubeconfig.yaml", site / "ca.crt"
    assert set(ret.data) == {str(kubeconfig), str(ca)}
    assert kubeconfig.read_text() == WRITTEN and ca.read_text() == CA
    for path in (kubeconfig, ca):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert os.readlink(path) == f".maia-kube/current/{path.name}"
    assert ret.data[str(kubeconfig)] == {"sha256": hashlib.sha256(WRITTEN.encode()).hexdigest(), "changed": True}
    assert "runner-test-token" not in ret.stdout

    # the digest of what the host sent (before the rebuild), as the host computes it: orch.maia
    # passes it to stage 2, whose export_compared state then reports no change
    record = site / ".maia-kube" / "exported-maia-node-0.sha256"
    on_host = salt_master.salt_cli(timeout=60).run(
        "maia_microk8s.export_digest", str(exported / "func-kubeconfig.yaml"), str(exported / "ca.crt"),
        minion_tgt="maia-node-0")
    assert record.read_text() == on_host.data + "\n" and len(on_host.data) == 64
    assert stat.S_IMODE(record.stat().st_mode) == 0o600

    again = cli.run("maia_kubeconfig.fetch_kubeconfig", "maia-node-0", f"remote_folder={exported}")
    assert again.returncode == 0
    assert {v["changed"] for v in again.data.values()} == {False}
    assert record.read_text() == on_host.data + "\n"
    assert sorted(p.name for p in record.parent.iterdir() if not p.name.startswith("v-")) == [
        "current", record.name]  # no temporary file left


def test_a_kubeconfig_that_runs_a_command_is_refused(salt_master, salt_minion, site, tmp_path):
    """A compromised control plane (here a real minion exporting a kubeconfig whose user is an
    ``exec`` plugin) cannot run anything on the master: the fetch fails naming the host and the
    field, the command never ran, and the site's kubeconfig is the one fetched before."""
    marker = tmp_path / "marker"
    exported = tmp_path / "exported"
    exported.mkdir()
    (exported / "func-kubeconfig.yaml").write_text(kubeconfig(SERVER, user=exec_user(marker)))
    (exported / "ca.crt").write_text(CA)
    before = (site / "func-kubeconfig.yaml").read_text() if (site / "func-kubeconfig.yaml").exists() else None

    ret = salt_master.salt_run_cli(timeout=120).run("maia_kubeconfig.fetch_kubeconfig", "maia-node-0",
                                                    f"remote_folder={exported}")
    out = ret.stdout + ret.stderr
    assert ret.returncode != 0, out
    assert "host maia-node-0" in out and "'exec'" in out and "nothing was written" in out
    assert not marker.exists()
    now = (site / "func-kubeconfig.yaml").read_text() if (site / "func-kubeconfig.yaml").exists() else None
    assert now == before
    assert "id >" not in (now or "")

    # a server that is not the control plane's inventory address is refused the same way
    (exported / "func-kubeconfig.yaml").write_text(kubeconfig("https://203.0.113.7:16443"))
    ret = salt_master.salt_run_cli(timeout=120).run("maia_kubeconfig.fetch_kubeconfig", "maia-node-0",
                                                    f"remote_folder={exported}")
    assert ret.returncode != 0 and "203.0.113.7" in ret.stdout + ret.stderr


def test_fetch_kubeconfig_says_what_is_missing(salt_master, salt_minion, tmp_path):
    cli = salt_master.salt_run_cli(timeout=120)
    ret = cli.run("maia_kubeconfig.fetch_kubeconfig", "maia-node-0", f"remote_folder={tmp_path}")
    assert ret.returncode != 0 or "Not exported yet" in str(ret.data)
    assert "Not exported yet" in ret.stdout + ret.stderr


def test_kubeconfig_never_reaches_job_cache_or_logs(salt_master, salt_minion, site, tmp_path):
    """After a fetch, the token and CA are in CONFIG_FOLDER only: not in the
    master's job cache, the minion's job data, nor either daemon's log (the
    minion logs every return at info: "Job ... execution finished, return_data")."""
    exported = tmp_path / "exported"
    exported.mkdir()
    token = "job-cache-probe-" + os.urandom(8).hex()
    (exported / "func-kubeconfig.yaml").write_text(kubeconfig(SERVER, user={"token": token}))
    (exported / "ca.crt").write_text(CA.replace("runner-test", "ca-probe-" + token))
    ret = salt_master.salt_run_cli(timeout=120).run("maia_kubeconfig.fetch_kubeconfig", "maia-node-0", f"remote_folder={exported}")
    assert ret.returncode == 0, ret.stderr
    assert token in (site / "func-kubeconfig.yaml").read_text()
    places = salt_places(salt_master, salt_minion)
    jobs = [p for p in (salt_master.config["cachedir"] + "/jobs",) if os.path.isdir(p)]
    assert jobs and any(os.scandir(jobs[0])), "the master keeps a job cache: the search must see it"
    assert "export_bundle" in open(salt_minion.config["log_file"], encoding="utf-8", errors="replace").read()
    secrets = {"kubeconfig token": token, "CA body": "ca-probe-" + token}
    assert find_secrets(secrets, places, {"salt-run output": ret.stdout + ret.stderr}) == []


# ---- the pair on disk, without Salt -------------------------------------------------------


@pytest.fixture
def runner(tmp_path):
    spec = importlib.util.spec_from_file_location("maia_kubeconfig_runner_under_test", REPO / "_runners" / "maia_kubeconfig.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.__opts__ = {}
    return module


OLD = {"c1-kubeconfig.yaml": "old-kubeconfig\n", "ca.crt": "old-ca\n"}
NEW = {"c1-kubeconfig.yaml": "new-kubeconfig\n", "ca.crt": "new-ca\n"}


def _shown(folder):
    out = {}
    for name in OLD:
        try:
            out[name] = (folder / name).read_text()
        except FileNotFoundError:
            out[name] = None
    return out


@pytest.mark.parametrize("layout", ["links", "plain files"])
def test_interrupted_fetch_leaves_the_old_or_the_new_pair(runner, tmp_path, monkeypatch, layout):
    """Crash the write at every rename it makes: each time the folder shows the
    old pair or the new pair, never one of each; a re-run completes it."""
    renames = 0
    real_replace = os.replace

    def counting(src, dst):
        nonlocal renames
        renames += 1
        return real_replace(src, dst)

    def seeded(folder):
        """``folder`` holding the old pair, as links (this runner) or plain files (before it)."""
        folder.mkdir()
        if layout == "links":
            runner.write_pair(str(folder), OLD)
        else:
            for name, text in OLD.items():
                (folder / name).write_text(text)
                (folder / name).chmod(0o600)
        return folder

    monkeypatch.setattr(runner.os, "replace", counting)
    probe = seeded(tmp_path / "probe")
    renames = 0
    runner.write_pair(str(probe), NEW)
    total = renames
    assert total >= 1

    for crash_at in range(1, total + 1):
        folder = seeded(tmp_path / f"crash-{crash_at}")
        calls = 0

        def crashing(src, dst):
            nonlocal calls
            calls += 1
            if calls == crash_at:
                raise KeyboardInterrupt("killed")
            return real_replace(src, dst)

        monkeypatch.setattr(runner.os, "replace", crashing)
        with pytest.raises(KeyboardInterrupt):
            runner.write_pair(str(folder), NEW)
        assert _shown(folder) in (OLD, NEW), f"crash at rename {crash_at}: {_shown(folder)}"
        monkeypatch.setattr(runner.os, "replace", real_replace)
        runner.write_pair(str(folder), NEW)
        assert _shown(folder) == NEW


def test_rerun_with_same_pair_changes_nothing(runner, tmp_path):
    assert runner.write_pair(str(tmp_path), NEW) is True
    before = os.readlink(tmp_path / ".maia-kube" / "current")
    assert runner.write_pair(str(tmp_path), NEW) is False
    assert os.readlink(tmp_path / ".maia-kube" / "current") == before
    assert sorted(os.listdir(tmp_path / ".maia-kube")) == sorted(["current", before])


def test_planted_symlinks_are_not_followed(runner, tmp_path):
    """A symlink where the runner used to put its temporary file (or in place of
    its pair directory) must not make it write through to the link's target."""
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    folder = tmp_path / "config"
    folder.mkdir()
    for name in NEW:
        os.symlink(victim, folder / f"{name}.maia-tmp")
    runner.write_pair(str(folder), NEW)
    assert victim.read_text() == "untouched\n"
    assert _shown(folder) == NEW

    other = tmp_path / "other"
    other.mkdir()
    os.symlink(tmp_path / "elsewhere", other / ".maia-kube")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(runner.SaltRunnerError, match="must be a directory owned by this user"):
        runner.write_pair(str(other), NEW)
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_names_a_host_returns_are_ignored(runner, tmp_path, monkeypatch):
    """A compromised control plane answering with absolute file names (or any
    extra data) cannot choose where the runner writes: the names are fixed."""
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "env.json").write_text('{"cluster_name": "c1"}')
    target = tmp_path / "pwned"

    def evil_call(tgt, ssh, roster_file, timeout, kwargs):
        mk8s = load_salt_module("_modules/maia_microk8s.py", "mk8s")
        import json as _json

        bundle = mk8s.seal(kwargs["recipient"], _json.dumps({"kubeconfig": KUBECONFIG, "ca_crt": "c\n"}).encode())
        bundle["names"] = {"kubeconfig": str(target), "ca_crt": str(target)}
        return {"cp": {**bundle, "kubeconfig": "k\n", "ca_crt": "c\n"}}

    monkeypatch.setattr(runner, "_call", evil_call)
    ret = runner.fetch_kubeconfig("cp", config_folder=str(folder), api_server_url=SERVER)
    assert not target.exists()
    assert set(ret) == {str(folder / "c1-kubeconfig.yaml"), str(folder / "ca.crt")}
    assert (folder / "c1-kubeconfig.yaml").read_text() == WRITTEN


def test_bundle_sealed_to_another_key_is_refused(runner, tmp_path, monkeypatch):
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "env.json").write_text('{"cluster_name": "c1"}')

    def other_key_call(tgt, ssh, roster_file, timeout, kwargs):
        mk8s = load_salt_module("_modules/maia_microk8s.py", "mk8s")
        _, public = runner._keypair()
        return {"cp": mk8s.seal(public, b'{"kubeconfig": "k", "ca_crt": "c"}')}

    monkeypatch.setattr(runner, "_call", other_key_call)
    with pytest.raises(runner.SaltRunnerError, match="not sealed to this run's key"):
        runner.fetch_kubeconfig("cp", config_folder=str(folder), api_server_url=SERVER)
    assert not (folder / "c1-kubeconfig.yaml").exists()
