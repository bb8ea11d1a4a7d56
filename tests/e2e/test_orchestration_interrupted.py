"""Interrupted runs on the lab (minions): Ctrl-C during a stage, and a run that finds an earlier one going.

Real: the hosts, the salt-master and minions, Salt's own refusal to start a
state run while another one runs on a host. Stand-ins as in conftest.py. Runs
after test_orchestration.py, on the site it installed.
"""
import re

from support.install_output import check_truthful, ctrl_c, finish, maia_install, start_install, wait_for_line

HOSTS = {"maia-node-0", "maia-node-1", "maia-node-2"}


def test_an_earlier_state_run_is_named_once_then_waited_for(site_lab):
    earlier = site_lab.salt("--async", "*", "state.single", "cmd.run", "name=sleep 20").stdout
    jid = re.search(r"job ID: (\d+)", earlier)[1]

    run = maia_install(site_lab, "--stages", "prepare", "--wait")
    assert run.returncode == 0, run.text
    said = [line for line in run.progress_lines() if "still running an earlier state run" in line]
    assert len(said) == 1, run.stderr
    assert f"(job {jid})" in said[0] and all(h in said[0] for h in HOSTS), said
    assert "is running as PID" not in run.text  # Salt's raw message, once per host, is not shown
    assert run.order_of([f"waiting for job {jid} to end", "the earlier state run ended", "stage 1 prepare on"])
    check_truthful(site_lab, run, {"prepare": HOSTS})
    assert all(r.failed == 0 for r in run.summary_rows().values()), run.text

    again = maia_install(site_lab, "--stages", "prepare")
    assert again.returncode == 0, again.text
    assert sum(r.changed for r in check_truthful(site_lab, again, {"prepare": HOSTS}).values()) == 0, again.text


def test_without_wait_a_pipe_stops_and_says_how_to_wait(site_lab):
    earlier = site_lab.salt("--async", "*", "state.single", "cmd.run", "name=sleep 15").stdout
    jid = re.search(r"job ID: (\d+)", earlier)[1]
    run = maia_install(site_lab, "--stages", "prepare")
    assert run.returncode == 1, run.text
    assert sum(f"(job {jid})" in line for line in run.progress_lines()) == 1, run.stderr
    assert "maia install --wait" in run.stderr
    assert f"BUSY maia-node-0, maia-node-1, maia-node-2: an earlier state run (job {jid})" in run.stdout, run.stdout
    site_lab.salt("*", "saltutil.kill_job", jid, check=False)


def test_ctrl_c_leaves_the_stage_running_then_a_rerun_converges(site_lab):
    proc = start_install(site_lab, "--stages", "prepare")
    try:
        line, _ = wait_for_line(proc, r"stage 1 prepare on .* \(job \d+\)")
        jid = re.search(r"\(job (\d+)\)", line)[1]
        ctrl_c(proc)
        _, stderr = finish(proc)  # no Salt noise after Ctrl-C either
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert f"carry on with stage prepare (job {jid})" in stderr, stderr
    assert "jobs.active" in stderr and f"saltutil.kill_job {jid}" in stderr, stderr

    run = maia_install(site_lab, "--stages", "prepare", "--wait")
    assert run.returncode == 0, run.text
    said = [line for line in run.progress_lines() if "still running an earlier state run" in line]
    assert len(said) <= 1 and all(f"(job {jid})" in s for s in said), run.stderr  # if it was still going
    assert all(r.failed == 0 for r in check_truthful(site_lab, run, {"prepare": HOSTS}).values()), run.text

    again = maia_install(site_lab, "--stages", "prepare")
    assert again.returncode == 0, again.text
    assert sum(r.changed for r in check_truthful(site_lab, again, {"prepare": HOSTS}).values()) == 0, again.text
