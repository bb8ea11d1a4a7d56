"""`maia reset` (orch.maia_reset) on the lab: what it removes, its test=True prediction, a second run
that changes nothing, and an install after it that converges.

Real: the hosts, UFW, /etc/exports, the CIFS plugin files, the LVM PV/VG on the
lab's loop disks (the --wipe-storage case), Salt with minions and salt-ssh.
Stand-ins (conftest.py): the Kubernetes API, MicroK8s (its snap removal is the
stand-in's) and the ArgoCD controller; LV creation and the NFS service are not
run in the lab, so the wipe removes the VG and PVs but finds no LV.
"""
import re

from maia_salt.day2 import run_reset
from maia_salt.install import run_orchestration
from support.doc_commands import by_kind, run_verbatim
from support.install_output import InstallRun, assert_quiet, orchestrated_as_documented

# docs/operations.md's prediction, run verbatim from the lab's folder: test_orchestration.py's
# documented-commands test checks this run (documented_runs) instead of running it again
RESET_PLAN = "maia reset --test"
# README's install, verbatim: the install after the storage wipe (see test_stages_subset_and_wipe_storage)
ORCH = "salt-run state.orch orch.maia"


def stages(report):
    return {r.stage for r in report.results}


def host_state(lab):
    node0 = "maia-node-0"
    return {
        "ufw": lab.ssh(node0, "ufw status | head -1").stdout.strip(),
        "exports": lab.ssh(node0, "grep -c '^/nfs' /etc/exports || true").stdout.strip(),
        "cifs": lab.ssh(node0, "ls /usr/libexec/kubernetes/kubelet-plugins/volume/exec/ 2>/dev/null || true").stdout.strip(),
        "vg": lab.ssh(node0, "vgs --noheadings -o vg_name 2>/dev/null || true").stdout.split(),
    }


def installed(lab):
    report = run_orchestration(lab.dir)
    assert report.ok, report.render()
    return report


def test_reset_in_reverse_order_predicts_then_removes_then_install_converges(site_lab, converged, documented_runs):
    if not converged.already():  # after test_day2_hosts.py, whose last run changed nothing
        installed(site_lab)
    before = host_state(site_lab)
    assert before["ufw"] == "Status: active" and before["exports"] == "1" and "MAIA_Storage" in before["vg"], before

    assert RESET_PLAN in {c.text for c in by_kind("lab")}
    proc = run_verbatim(site_lab, RESET_PLAN, documented_runs)
    assert_quiet(proc.stdout + proc.stderr)
    predicted = InstallRun(proc.returncode, proc.stdout, proc.stderr)
    assert predicted.returncode == 0, predicted.text
    # live progress in a pipe, as maia install shows it: each step's job, then each host's return as it arrives
    for host in site_lab.hosts:
        assert re.search(rf"^\[ *[0-9.]+s\] prepare +{host.name} +\d+ states", proc.stderr, re.M), predicted.text
    rows = predicted.summary_rows()  # the summary, in the order the steps ran
    assert sum(r.changed for r in rows.values()) > 0, predicted.text
    assert {stage for stage, _host in rows} == {"admin", "core", "k8s", "prepare"}, predicted.text
    assert host_state(site_lab) == before  # test=True changed nothing
    # last installed, first removed
    order = [stage for stage, _host in rows]
    assert order[0] == "admin" and order[-1] == "prepare", predicted.text

    done = run_reset(site_lab.dir)
    assert done.ok, done.render()
    assert done.changed > 0
    after = host_state(site_lab)
    assert after["ufw"] == "Status: inactive" and after["exports"] == "0" and "fstab~cifs" not in after["cifs"], after
    assert "MAIA_Storage" in after["vg"]  # the storage stays without --wipe-storage

    again = run_reset(site_lab.dir, ssh=True)
    assert again.ok, again.render()
    assert again.changed == 0, again.render()

    first = installed(site_lab)
    assert first.changed > 0
    second = installed(site_lab)
    assert second.changed == 0, second.render()
    assert host_state(site_lab) == before
    converged.now()


def test_stages_subset_and_wipe_storage(site_lab, converged, documented_runs):
    """The install that brings the storage back is README's `salt-run state.orch orch.maia`, verbatim
    (its report read from the master job cache, as `maia install` reads it): test_no_secret_in_output.py
    searches what it printed and the documented-commands test checks it, instead of each running it again."""
    if not converged.already():  # after the test above, whose last install changed nothing
        installed(site_lab)
    only_core = run_reset(site_lab.dir, stages=["core"], test=True)
    assert only_core.ok and stages(only_core) == {"core"}, only_core.render()

    wiped = run_reset(site_lab.dir, stages=["prepare"], wipe_storage=True)
    assert wiped.ok, wiped.render()
    assert stages(wiped) == {"prepare"}
    for host in site_lab.hosts:
        assert site_lab.ssh(host.name, "vgs --noheadings -o vg_name").stdout.split() == [], host.name
        pvs = site_lab.ssh(host.name, "pvs --noheadings -o pv_name").stdout.split()
        assert not set(pvs) & set(host.devices), (host.name, pvs)
    again = run_reset(site_lab.dir, stages=["prepare"], wipe_storage=True)
    assert again.ok and again.changed == 0, again.render()

    _proc, back = orchestrated_as_documented(site_lab, documented_runs, ORCH)  # the storage comes back on the blank disks
    assert back.ok, back.render()
    assert "MAIA_Storage" in host_state(site_lab)["vg"]
