"""orch.maia end to end on the lab: minions and salt-ssh, re-runs, stage subsets, failures.

See conftest.py for what is real and what is a stand-in here. The runs through
`maia install` capture what a user sees in a pipe (plain progress lines on
stderr, the summary on stdout) and check the per-host summary against the
stage jobs' returns in the master job cache (`salt-run jobs.lookup_jid`).
"""
import json
import os
import re
import stat
from pathlib import Path

import yaml

from maia_salt.install import run_orchestration

from support.admin_services import lab_services
from support.install_output import Row, check_truthful, installed_as_documented, maia_install, orchestrated_as_documented

HOSTS = {"maia-node-0", "maia-node-1", "maia-node-2"}
# rancher: orch.maia's Rancher step (a state on the master, its own row); dashboard: the second
# stage-4 job, after Rancher's token was recorded (docs/admin.md, "Rancher")
STAGE_HOSTS = {"prepare": HOSTS, "k8s": {"maia-node-0"}, "core": {"maia-node-0"}, "admin": {"maia-node-0"},
               "rancher": {"maia-node-0"}, "dashboard": {"maia-node-0"}}


def rows(report, stage=None):
    return [r for r in report.results if stage is None or r.stage == stage]


def real_writes(services):
    """The stand-ins' write requests by service (iam, registry, minio-api, mgmt), without the
    token requests every client (this test's too) makes to sign in to Keycloak."""
    return {host.split(".")[0]: [w for w in done if not w[1].endswith("/token")]
            for host, done in services["writes"].items()}


def test_minions_install_all_stages_then_rerun_changes_nothing(site_lab, minion_install):
    # conftest.py: stage 1 was given something to put back on maia-node-1 first
    run, rerun = minion_install["run"], minion_install["rerun"]
    assert run.returncode == 0, run.text
    first = check_truthful(site_lab, run, STAGE_HOSTS)
    assert sum(r.changed for r in first.values()) > 0, run.text
    # progress as it happened: the steps in order, a line per host, stage 3's Applications
    assert run.order_of(["syncing modules and pillar", "stage 1 prepare on", "stage 2 k8s on",
                         "fetching the kubeconfig", "stage 3 core on", "stage 4 admin on"]), run.stderr
    assert run.progress_lines("core     application "), run.stderr

    cluster = site_lab.state["cluster_name"]
    for name in (f"{cluster}-kubeconfig.yaml", "ca.crt"):
        assert minion_install["modes_after_run"].get(name) == 0o600, (name, minion_install["modes_after_run"])

    assert rerun.returncode == 0, rerun.text
    # Salt's own warnings and stack dumps go to the log file: maia_install asserts it of every run
    second = check_truthful(site_lab, rerun, STAGE_HOSTS)
    assert sum(r.changed for r in second.values()) == 0, rerun.text
    assert {k: r.states for k, r in second.items()} == {k: r.states for k, r in first.items()}, rerun.text
    # the first run recorded what it fetched; the re-run's stage 2 found the controller's copy
    # current, so no fetch ran (a job fewer on a converged site)
    record = Path(site_lab.config_folder, ".maia-kube", "exported-maia-node-0.sha256")
    assert re.fullmatch(r"[0-9a-f]{64}\n", record.read_text()), record
    assert rerun.order_of(["stage 2 k8s on", "stage 3 core on"]), rerun.stderr
    assert "fetching the kubeconfig" not in rerun.stderr, rerun.stderr

    # the plan of a converged site, all four stages: nothing would change
    plan = maia_install(site_lab, "--test")
    assert plan.returncode == 0, plan.text
    assert "plan: nothing would change" in plan.stdout and "WOULD CHANGE" not in plan.stdout, plan.text
    assert plan.order_of(["stage 1 prepare on", "stage 2 k8s on", "stage 3 core on", "stage 4 admin on"]), plan.stderr
    # the Rancher step ran under test=True too (it is predicted, not skipped): the recorded token works
    assert plan.summary_rows()[("rancher", "maia-node-0")] == Row(1, 0, 0), plan.text
    if site_lab.state.get("standins"):
        # stage 4 configured Keycloak, Harbor and MinIO (the lab's stand-ins, docs/standins.md); every write
        # they had is one of the first run's, so the re-run and the plan wrote nothing
        services = lab_services(site_lab)
        assert services["user"]["requiredActions"] == ["UPDATE_PASSWORD"], services
        assert services["groups"] == ["MAIA:admin", "MAIA:users"] and services["harbor"]["auth_mode"] == "oidc_auth"
        writes = real_writes(services)
        assert len(writes["iam"]) == 6 and [w[0] for w in writes["registry"]] == ["PUT"], writes
        assert services["minio"]["bucket"] is True, services["minio"]
        assert [s["Action"] for s in services["minio"]["policy"]["Statement"]] == [["admin:*"], ["kms:*"], ["s3:*"]]
        assert writes["minio-api"] == [["PUT", "/maia-envs", 200], ["PUT", "/minio/admin/v3/add-canned-policy", 200]], writes
        # Rancher: one login, the two first-login settings, one kubeconfig (with its token), all of
        # the lab's first install (this run's row: one state that changed, unless an earlier e2e test
        # installed the lab and the step kept the token it recorded); the token env.json records
        # works and local.yaml holds it (0600)
        expected = 0 if minion_install["rancher_recorded_before"] else 1
        assert first[("rancher", "maia-node-0")].changed == expected, (minion_install["rancher_recorded_before"], run.text)
        assert second[("rancher", "maia-node-0")].changed == 0, rerun.text
        assert [(w[0], w[1]) for w in writes["mgmt"]] == [
            ("POST", "/v3-public/localProviders/local"), ("PUT", "/v3/settings/first-login"),
            ("PUT", "/v3/settings/eula-agreed"), ("POST", "/v3/clusters/local")], writes
        assert services["rancher"] == {"token_status": 200, "first_login": "false"}, services["rancher"]
        local = Path(site_lab.config_folder, "local.yaml")
        assert stat.S_IMODE(local.stat().st_mode) == 0o600
        token = json.loads(Path(site_lab.config_folder, "env.json").read_text())["rancher_token"]
        assert yaml.safe_load(local.read_text())["users"][0]["user"]["token"] == token


def test_backup_restored_into_an_empty_folder_installs_with_no_change(site_lab, minion_install, tmp_path):
    """`maia backup` of the converged lab (CONFIG_FOLDER, and the datastore snapshot and CA of
    maia-node-0 through its minion: the MicroK8s stand-in's `dbctl backup` writes the snapshot), the
    folder moved away, `maia restore` into its empty place: `maia install` (all four stages) then
    changes nothing, because the restored folder holds the same secrets; the archive holds none of
    them in clear, the CA key included, and --cluster-to gives back the host's CA key and snapshot."""
    import shutil
    import subprocess
    import tarfile

    from support.install_output import maia_bin
    from support.secrets import find_secrets, site_secrets

    assert minion_install["rerun"].returncode == 0, minion_install["rerun"].text
    folder = site_lab.config_folder
    (tmp_path / "keys").mkdir()
    passphrase = tmp_path / "keys" / "passphrase"
    passphrase.write_text("lab backup passphrase, kept apart\n")
    archive = tmp_path / "site.maiabackup"
    made = subprocess.run([maia_bin(), "backup", "-c", site_lab.dir, "--config-folder", folder, "-o", archive,
                           "--passphrase-file", passphrase], capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr
    assert "the datastore snapshot and CA of maia-node-0" in made.stderr, made.stderr
    ca_key = open(site_lab.path("hosts", "maia-node-0", "merged", "var/snap/microk8s/current/certs/ca.key"), "rb").read()
    key_lines = {f"ca.key:{i}": line.decode() for i, line in enumerate(ca_key.splitlines()) if len(line) >= 32}
    secrets = {**site_secrets(folder), **key_lines}
    assert len(secrets) > 10 and key_lines and find_secrets(secrets, [archive]) == []
    kept = f"{folder}.before-restore"
    os.rename(folder, kept)
    try:
        (tmp_path / "cluster").mkdir()
        back = subprocess.run([maia_bin(), "restore", archive, "--config-folder", folder, "--passphrase-file",
                               passphrase, "--cluster-to", tmp_path / "cluster"], capture_output=True, text=True,
                              timeout=300)
        assert back.returncode == 0, back.stderr
        assert (tmp_path / "cluster" / "ca.key").read_bytes() == ca_key
        with tarfile.open(tmp_path / "cluster" / "datastore.tar.gz") as snapshot:
            assert snapshot.getnames() == ["backup/datastore.json"]
        run = maia_install(site_lab)
        assert run.returncode == 0, run.text
        rows = check_truthful(site_lab, run, STAGE_HOSTS)
        assert sum(r.changed for r in rows.values()) == 0, run.text
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.rename(kept, folder)


def test_salt_ssh_mode_summaries_are_truthful(site_lab, documented_runs):
    """A run over salt-ssh that changes something on one host, then one that changes nothing (the
    documented `maia install --ssh`, verbatim: the documented-commands test checks this run)."""
    # stage 1 puts the CIFS flexVolume driver back to mode 0755
    site_lab.ssh("maia-node-2", "chmod 0700 '/usr/libexec/kubernetes/kubelet-plugins/volume/exec/fstab~cifs/cifs'")
    run = maia_install(site_lab, "--ssh")
    assert run.returncode == 0, run.text
    changed = check_truthful(site_lab, run, STAGE_HOSTS)
    assert changed[("prepare", "maia-node-2")].changed > 0, run.text
    assert run.order_of(["stage 1 prepare on", "stage 2 k8s on", "stage 3 core on", "stage 4 admin on"]), run.stderr

    services = lab_services(site_lab) if site_lab.state.get("standins") else None

    rerun = installed_as_documented(site_lab, documented_runs, "maia install --ssh")
    assert rerun.returncode == 0, rerun.text
    noop = check_truthful(site_lab, rerun, STAGE_HOSTS)
    assert sum(r.changed for r in noop.values()) == 0, rerun.text
    assert {k: r.states for k, r in noop.items()} == {k: r.states for k, r in changed.items()}, rerun.text
    if services:
        # stage 4 and the Rancher step over salt-ssh: Keycloak, Harbor, MinIO and Rancher hold what
        # they held, and the no-op re-run sent none of them a write request
        again = lab_services(site_lab)
        assert real_writes(again) == real_writes(services), (real_writes(services), real_writes(again))
        assert again["rancher"]["token_status"] == 200 and again["minio"]["bucket"] is True, again


ONE_JOB = '{"maia": {"orch": {"one_job": true}}}'


def test_a_converged_site_runs_one_job_per_host_in_both_modes(site_lab):
    """maia:orch:one_job on (the default outside the lab tests, tests/support/lab.py): once a run with
    the same inputs has finished, every host applies its stages in one job and the run changes
    nothing; the summary still has a row per stage and host, each with the states of that stage
    (their SLS), and no step of its own runs the stage jobs. A run that is not yet one job (the
    lab's last run had other inputs) records them and the next one is."""
    # over salt-ssh first: the test before this one ends with a converged `maia install --ssh`
    for mode in (["--ssh"], []):
        run = maia_install(site_lab, *mode, "--pillar", ONE_JOB)
        if "every stage in one job per host" not in run.stderr:
            assert run.returncode == 0, run.text
            run = maia_install(site_lab, *mode, "--pillar", ONE_JOB)
        assert run.returncode == 0, run.text
        assert "every stage in one job per host" in run.stderr, run.text
        for title in ("stage 1 prepare on", "stage 2 k8s on", "stage 3 core on", "stage 4 admin on"):
            assert title not in run.stderr, (title, run.stderr)
        rows = run.summary_rows()
        # the dashboard step runs only for a token the Rancher step records anew: none here; each
        # host checked itself first, in its own job (no preflight job ran)
        assert set(rows) == ({(s, h) for s, hosts in STAGE_HOSTS.items() if s != "dashboard" for h in hosts}
                             | {("preflight", h) for h in HOSTS}), run.text
        assert "preflight checks of every host" not in run.stderr, run.stderr
        assert all(rows["preflight", h].states == 1 for h in HOSTS), run.text
        assert sum(r.changed for r in rows.values()) == 0 and sum(r.failed for r in rows.values()) == 0, run.text
        assert all(r.states > 0 for r in rows.values()), run.text
        # the one job's rows were shown as each host returned, not only at the end
        for stage, host in rows:
            assert any(line.startswith(f"{stage:<8} {host} ") for line in run.progress_lines()), (stage, host, run.stderr)
    # a host whose own preflight fails in its job runs none of its stages' states (failhard):
    # here the control plane with too little memory for the threshold given
    pillar = {"maia": {"orch": {"parts": {"maia-node-0": ["maia.preflight", "maia.prepare"]}},
                       "preflight": {"min_memory_mb": 10 ** 9}}}
    proc = site_lab.salt("maia-node-0", "state.sls", "maia", f"pillar={json.dumps(pillar)}", "--out=json",
                         "--static", check=False)
    ran = json.loads(proc.stdout)["maia-node-0"]
    (checked,) = ran.values()  # Salt returns nothing of the states that failhard kept from running
    assert checked["__id__"] == "maia-preflight-checked" and checked["result"] is False, proc.stdout
    assert "MB of memory" in checked["comment"] and checked["changes"] == {}, proc.stdout


def test_stage_subset_and_flag_override(site_lab, documented_runs):
    # docs/orchestration.md's stage-subset example, verbatim (the documented-commands test checks this run)
    _proc, full = orchestrated_as_documented(
        site_lab, documented_runs, """salt-run state.orch orch.maia pillar='{"maia": {"stages": ["prepare"]}}'""")
    without_cifs = run_orchestration(site_lab.dir, stages=["prepare"], pillar={"maia": {"prepare": {"cifs": False}}})
    assert full.ok and without_cifs.ok, without_cifs.render()
    assert {r.stage for r in without_cifs.results} == {"prepare"}
    assert {r.host for r in full.results} == HOSTS, full.render()
    by_host = {r.host: r.states for r in full.results}
    for r in without_cifs.results:
        # the CIFS states give way to one "cifs skipped" state
        assert r.states < by_host[r.host], (r.host, r.states, by_host[r.host])


def test_bad_device_stops_before_stage_2(site_lab):
    inventory = site_lab.inventory
    good = open(inventory).read()
    bad = yaml.safe_load(good)
    bad["hosts"]["maia-node-1"]["vars"]["device_list"] = ["/dev/maia-no-such-disk"]
    with open(inventory, "w") as fh:
        yaml.safe_dump(bad, fh)
    try:
        # without the preflight (which would stop the run before stage 1): the state's own check
        report = run_orchestration(site_lab.dir, pillar={"maia": {"orch": {"preflight": False}}})
    finally:
        with open(inventory, "w") as fh:
            fh.write(good)
    assert not report.ok
    assert report.returncode != 0
    assert not rows(report, "k8s") and not rows(report, "core")
    failed = {r.host: r.failures for r in rows(report, "prepare") if r.failures}
    assert list(failed) == ["maia-node-1"], report.render()
    (state_id, comment), = failed["maia-node-1"][:1]
    assert state_id == "maia-prepare-lvm-host-vars-valid"
    assert "/dev/maia-no-such-disk" in comment
    text = report.render()
    assert "maia-node-1" in text and "maia-prepare-lvm-host-vars-valid" in text


def test_documented_lab_commands_run_as_written(site_lab, documented_runs):
    """Every salt-run / salt-ssh / salt / `maia install` example of README.md and docs/, verbatim,
    from the lab's folder (its Saltfile points the tools at the lab's master config and roster).
    A command an earlier test of this package already ran verbatim (`documented_runs`: `maia
    install` in conftest.py's minion_install, `maia install --ssh` in the salt-ssh test, `maia
    reset --test` in test_day2_reset.py, `salt-run state.orch orch.maia` in
    test_no_secret_in_output.py, the salt-ssh `salt-run state.orch orch.maia pillar=...` in
    test_day2_hosts.py, the stage-subset one in the stage-subset test) is not run again: its run is
    checked here the same way."""
    from support.doc_commands import by_kind, run_verbatim, verbatim_failure

    commands = list({c.text: c for c in by_kind("lab")}.values())
    assert len(commands) > 15
    commands.sort(key=lambda c: "state.orch" not in c.text)  # a whole install first, as a site does
    failures = []
    for command in commands:
        proc = documented_runs.get(command.text) or run_verbatim(site_lab, command.text)
        failure = verbatim_failure(command.text, proc)
        if failure:
            failures.append(f"{command}: {failure}")
    assert failures == [], "\n\n".join(failures)


def test_documented_salt_call_local_runs_on_a_host(site_lab):
    """`salt-call --local state.apply maia[.k8s]` (README, docs/k8s.md) in the control-plane host,
    masterless: the minion config names the formulas, the ext_pillar on a copy of the site's
    CONFIG_FOLDER and the lab's pillar; the documented `saltutil.sync_all` brings the modules
    from those formulas first; the second run changes nothing."""
    import re
    import shutil
    import sys

    from support.doc_commands import by_kind

    commands = [c for c in by_kind("salt-call") if re.match(r"^salt-call --local state\.apply maia(\.k8s)?$", c.text)]
    assert len(commands) == 2
    (sync,) = {c.text for c in by_kind("salt-call") if c.text == "salt-call --local saltutil.sync_all"}
    host = "maia-node-0"
    root = site_lab.path("hosts", host, "merged")
    shutil.copytree(site_lab.config_folder, os.path.join(root, "etc/maia/config"), dirs_exist_ok=True)
    shutil.copytree(site_lab.path("pillar"), os.path.join(root, "etc/maia/pillar"), dirs_exist_ok=True)
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    local_conf = os.path.join(root, "etc/salt/minion.d/maia-local.conf")
    os.makedirs(os.path.dirname(local_conf), exist_ok=True)
    with open(local_conf, "w") as fh:
        yaml.safe_dump({"file_roots": {"base": [os.path.join(checkout, "formulas")]},
                        "pillar_roots": {"base": ["/etc/maia/pillar"]},
                        "ext_pillar": [{"maia": {"config_folder": "/etc/maia/config"}}]}, fh)
    path = f"{os.path.dirname(sys.executable)}:/usr/sbin:/usr/bin:/sbin:/bin"
    try:
        proc = site_lab.ssh(host, f"PATH={path} {sync} --out=json --retcode-passthrough", check=False, timeout=600)
        assert proc.returncode == 0, f"{sync}: {proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        for command in commands:
            for run in ("first", "second"):
                proc = site_lab.ssh(host, f"PATH={path} {command.text} --out=json --retcode-passthrough",
                                    check=False, timeout=1800)
                assert proc.returncode == 0, f"{command} ({run}): {proc.stdout[-3000:]}{proc.stderr[-2000:]}"
                states = json.loads(proc.stdout)["local"]
                changed = [k for k, v in states.items() if v.get("changes")]
                if run == "second":
                    assert changed == [], f"{command}: second run changed {changed}"
    finally:
        os.unlink(local_conf)
        shutil.rmtree(os.path.join(root, "etc/maia/config"), ignore_errors=True)
