"""`maia install --ssh --stages prepare` on the salt-ssh lab, where no salt-master runs.

Without a master there is no event bus, and the stage step's ``__jid__`` is the
hosts' own salt-call jid, under which the job cache holds nothing: the summary
comes from the returns salt-ssh wrote into the master job cache as each host
answered. Uses the session's salt-ssh lab (``lab``, see conftest.py). Real: the
three lab hosts, salt-ssh, stage 1. Switched off by the lab's own pillar, as this
machine cannot run them: LV creation and the NFS service start and mount
(``maia_lab.lab.core.HOST_LIMITS``).
"""

import pytest

from support.install_output import check_truthful, maia_install

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOSTS = {"maia-node-0", "maia-node-1", "maia-node-2"}
CIFS_DRIVER = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/fstab~cifs/cifs"


def test_salt_ssh_without_a_master_first_and_noop_summaries_are_truthful(lab):
    assert not lab.state.get("minions")
    # on a prepared lab, something for stage 1 to put back on one host (on a fresh lab: everything)
    lab.ssh("maia-node-2", f"chmod 0700 '{CIFS_DRIVER}'", check=False)
    run = maia_install(lab, "--ssh", "--stages", "prepare")
    assert run.returncode == 0, run.text
    first = check_truthful(lab, run, {"prepare": HOSTS})
    assert first[("prepare", "maia-node-2")].changed > 0, run.text

    rerun = maia_install(lab, "--ssh", "--stages", "prepare")
    assert rerun.returncode == 0, rerun.text
    noop = check_truthful(lab, rerun, {"prepare": HOSTS})
    assert sum(r.changed for r in noop.values()) == 0, rerun.text
    assert {k: r.states for k, r in noop.items()} == {k: r.states for k, r in first.items()}, rerun.text
