"""`maia install` on the lab: an absent minion named before any stage, the plan of --test, the
--json document, `maia drift`, the scheduled drift check, self-healing, and output free of Salt's
warnings and stack dumps.

Real: the hosts (systemd-nspawn Debian, UFW), Salt (master, minions). Stand-ins
(docs/standins.md) for the Kubernetes API, MicroK8s and ArgoCD; these tests run stage 1 only,
which needs none of them.
"""
import json
import os
import time

import jsonschema
import yaml

from maia_salt import jsonout
from maia_salt.reach import ssh_answers
from support.install_output import finish, maia_install, run_maia, start_install, wait_for_line


def _minion_answers(lab, host, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc = lab.salt(host, "test.ping", "--out=json", "--static", "-t", "5", check=False)
        try:
            if json.loads(proc.stdout or "{}").get(host) is True:
                return
        except ValueError:
            pass
        time.sleep(1)
    raise AssertionError(f"the minion of {host} does not answer again")


def test_a_stopped_minion_is_named_within_15_seconds(site_lab):
    site_lab.ssh("maia-node-2", "systemctl stop salt-minion")
    try:
        started = time.monotonic()
        proc = start_install(site_lab, "--stages", "prepare")
        line, seen = wait_for_line(proc, r"not answering: maia-node-2", timeout=120)
        named_after = time.monotonic() - started
        out, err = finish(proc)  # and no Salt noise in what it printed
        text = "".join(seen) + err
        assert named_after < 15, (named_after, text)
        assert "systemctl start salt-minion" in line and "--skip-unreachable" in line
        assert proc.returncode == 1 and "nothing was run" in text
        assert "stage 1" not in text, text + out
    finally:
        site_lab.ssh("maia-node-2", "systemctl start salt-minion")
        _minion_answers(site_lab, "maia-node-2")


def test_test_run_names_the_host_and_state_of_a_deleted_ufw_rule(site_lab):
    """After stage 1, one UFW rule is deleted on maia-node-1: --test names that host and that
    state with its predicted change, and the --json document (validated against the shipped
    schema) holds the same; `maia drift --json` reports it as drift (exit 3)."""
    first = maia_install(site_lab, "--stages", "prepare")
    assert first.returncode == 0, first.text
    peer = site_lab.host("maia-node-0").address
    site_lab.ssh("maia-node-1", f"ufw delete allow from {peer}")
    try:
        plan = maia_install(site_lab, "--stages", "prepare", "--test")
        assert plan.returncode == 0, plan.text
        state = "maia-prepare-ufw-rule-from-maia-node-0-allowed"
        assert f"WOULD CHANGE prepare on maia-node-1: {state}" in plan.stdout, plan.text
        assert "prepare on maia-node-0:" not in plan.stdout and "prepare on maia-node-2:" not in plan.stdout

        doc_run = maia_install(site_lab, "--stages", "prepare", "--test", "--json")
        assert doc_run.returncode == 0, doc_run.text
        doc = json.loads(doc_run.stdout)
        jsonschema.Draft202012Validator(jsonout.schema()).validate(doc)
        changed = {(row["host"], change["state"]) for row in doc["hosts"] for change in row["changes"]}
        assert changed == {("maia-node-1", state)}, doc
        assert doc["test"] is True and doc["exit_code"] == 0

        # maia drift is the same check with its own verdict: exit 3, the host and the state named
        drift = run_maia("drift", "-c", site_lab.dir, "--stages", "prepare", "--json", timeout=1800)
        assert drift.returncode == 3, drift.stdout + drift.stderr
        drift_doc = json.loads(drift.stdout)
        jsonschema.Draft202012Validator(jsonout.schema()).validate(drift_doc)
        assert drift_doc["command"] == "drift" and drift_doc["exit_code"] == 3, drift_doc
        assert {(row["host"], change["state"]) for row in drift_doc["hosts"]
                for change in row["changes"]} == {("maia-node-1", state)}, drift_doc
    finally:
        site_lab.ssh("maia-node-1", f"ufw allow from {peer}", check=False)


def test_status_reads_the_last_runs_and_asks_the_hosts(site_lab):
    """`maia status --json` after a stage 1 run: a row per host for prepare with the job the master's
    job cache holds, every host answering; with one minion stopped, that host is named (exit 1)."""
    run = maia_install(site_lab, "--stages", "prepare")
    assert run.returncode == 0, run.text
    jid = run.stage_jobs()["prepare"][0]
    proc = run_maia("status", "-c", site_lab.dir, "--json", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    jsonschema.Draft202012Validator(jsonout.schema()).validate(doc)
    rows = {(r["stage"], r["host"]): r for r in doc["hosts"]}
    assert {h for s, h in rows if s == "prepare"} == {"maia-node-0", "maia-node-1", "maia-node-2"}, doc
    for host in ("maia-node-0", "maia-node-1", "maia-node-2"):
        assert rows[("prepare", host)]["jid"] == jid and rows[("prepare", host)]["answers"] is True, doc
        assert rows[("prepare", host)]["states"] > 0 and rows[("prepare", host)]["when"]
    site_lab.ssh("maia-node-2", "systemctl stop salt-minion")
    try:
        down = run_maia("status", "-c", site_lab.dir, timeout=300)
        assert down.returncode == 1 and "host maia-node-2: DOES NOT ANSWER" in down.stdout, down.stdout
        assert "host maia-node-0: answers" in down.stdout
    finally:
        site_lab.ssh("maia-node-2", "systemctl start salt-minion")
        _minion_answers(site_lab, "maia-node-2")


def test_skip_unreachable_converges_the_others(site_lab):
    site_lab.ssh("maia-node-2", "systemctl stop salt-minion")
    try:
        run = maia_install(site_lab, "--stages", "prepare", "--skip-unreachable", "--json")
        assert run.returncode == 1, run.text
        doc = json.loads(run.stdout)
        jsonschema.Draft202012Validator(jsonout.schema()).validate(doc)
        by_host = {(r["stage"], r["host"]): r for r in doc["hosts"]}
        assert by_host[("-", "maia-node-2")]["error"].startswith("did not answer")
        assert by_host[("prepare", "maia-node-0")]["ok"] and by_host[("prepare", "maia-node-1")]["ok"]
        assert ("prepare", "maia-node-2") not in by_host
    finally:
        site_lab.ssh("maia-node-2", "systemctl start salt-minion")
        _minion_answers(site_lab, "maia-node-2")


def _ssh_answers_again(site_lab, host, timeout=60):
    deadline = time.monotonic() + timeout
    while not ssh_answers(site_lab.host(host).address, 22, timeout=2):
        assert time.monotonic() < deadline, f"the SSH server of {host} does not answer again"
        time.sleep(0.5)


def test_a_host_whose_ssh_is_stopped_is_named_within_15_seconds_over_salt_ssh(site_lab):
    """`maia install --ssh` with sshd stopped on maia-node-2 (stopped and started again through its
    minion): named with the fix before any stage starts, nothing run, exit 1."""
    site_lab.salt("maia-node-2", "cmd.run", "systemctl stop ssh")
    try:
        started = time.monotonic()
        proc = start_install(site_lab, "--ssh", "--stages", "prepare")
        line, seen = wait_for_line(proc, r"not answering: maia-node-2", timeout=120)
        named_after = time.monotonic() - started
        out, err = finish(proc)
        text = "".join(seen) + err
        assert named_after < 15, (named_after, text)
        assert "start its SSH server (systemctl start ssh)" in line and "--skip-unreachable" in line, line
        assert "maia-node-0" not in line and "maia-node-1" not in line, line
        assert proc.returncode == 1 and "nothing was run" in text, text + out
        assert "stage 1" not in text, text + out
    finally:
        site_lab.salt("maia-node-2", "cmd.run", "systemctl start ssh", check=False)
        _ssh_answers_again(site_lab, "maia-node-2")


def _drop_lab_pillar(pillar_dir, name):
    """Remove ``<name>.sls`` from the lab's pillar and from its top.sls."""
    os.unlink(os.path.join(pillar_dir, f"{name}.sls"))
    names = sorted(f[:-4] for f in os.listdir(pillar_dir) if f.endswith(".sls") and f != "top.sls")
    with open(os.path.join(pillar_dir, "top.sls"), "w", encoding="utf-8") as fh:
        yaml.safe_dump({"base": {"*": names}}, fh)


def _until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(2)
    return time.monotonic()


def _heal_lines(site_lab, since):
    with open(site_lab.path("salt", "log", "master"), encoding="utf-8", errors="replace") as fh:
        fh.seek(since)
        return [line for line in fh.read().splitlines() if "maia heal:" in line]


def _delete_saved_rule(site_lab, host, peer):
    """Take the UFW rule that allows ``peer`` out of ``host``'s saved rules (/etc/ufw/user.rules,
    its tuple comment and its iptables line), through the host's root as this machine sees it."""
    path = os.path.join(site_lab.folder.host_root(host), "etc", "ufw", "user.rules")
    with open(path, encoding="utf-8") as fh:
        lines = fh.readlines()
    kept = [line for line in lines if peer not in line.split()]
    assert len(lines) - len(kept) == 2, f"no rule from {peer} saved on {host}: {''.join(lines)}"
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(kept)


def _predicted_changes(site_lab, host, sls):
    """The states of ``sls`` that ``test=True`` on ``host`` says would change (or failed)."""
    proc = site_lab.salt(host, "state.sls", sls, "test=True", "queue=True", "--out=json", "--static", "-t", "300")
    ret = json.loads(proc.stdout)[host]
    assert isinstance(ret, dict), ret
    return sorted(v["__id__"] for v in ret.values() if v["result"] is not True or v["changes"])


def test_heal_puts_a_deleted_rule_back_and_converges_a_restarted_host(site_lab):
    """pillar maia:drift and maia:heal on (the site's pillar): stage 1 puts the maia_heal beacon on
    every minion, and the lab master's reactor (maia_salt.heal.REACTOR) hands its events and minion
    starts to the runner maia_heal. A UFW rule deleted on maia-node-1 is back within a minute, and
    the master's log names the heal. maia-node-2's container is shut down, a rule is taken out of
    its saved UFW rules while it is down (as a host booted from an older image would come back),
    and it boots again: with no manual run, its minion's start re-applies maia.prepare there, the
    rule is back, the heal is logged, and a test run of maia.prepare predicts no change.

    Real: hosts (an orderly shutdown and boot of the container, Lab.restart_host's steps), UFW,
    Salt master, minions, beacons, reactor. Stage 1 only, so no stand-in is involved."""
    from maia_lab.lab.saltconfig import write_lab_pillar

    pillar_dir = site_lab.path("pillar")
    peer = site_lab.host("maia-node-0").address
    rule = "maia-prepare-ufw-rule-from-maia-node-0-allowed"
    has_rule = lambda host: peer in site_lab.ssh(host, "ufw status", check=False).stdout  # noqa: E731
    write_lab_pillar(pillar_dir, "heal", {"maia": {"heal": {"enabled": True, "interval": 2},
                                                   "drift": {"interval": 30, "stages": ["prepare"]}}})
    try:
        run = maia_install(site_lab, "--stages", "prepare", "--wait")
        assert run.returncode == 0, run.text
        listed = site_lab.salt("maia-node-1", "beacons.list", "return_yaml=False", "--out=json", "--static")
        assert "maia_heal" in json.loads(listed.stdout)["maia-node-1"], listed.stdout
        time.sleep(4)  # the beacon's first look after the run (interval 2 s) takes the reference
        since = os.path.getsize(site_lab.path("salt", "log", "master"))
        site_lab.ssh("maia-node-1", f"ufw delete allow from {peer}")
        deleted = time.monotonic()
        back = _until(lambda: has_rule("maia-node-1"), 60, "the deleted rule is not back on maia-node-1")
        assert back - deleted < 60
        healed = f"maia heal: maia-node-1/ufw healed: 1 state(s) changed: {rule}"
        _until(lambda: any(healed in line for line in _heal_lines(site_lab, since)), 30,
               f"no line {healed!r} in the master's log")

        since = os.path.getsize(site_lab.path("salt", "log", "master"))
        site_lab.stop_host("maia-node-2")
        _delete_saved_rule(site_lab, "maia-node-2", peer)
        site_lab.start_host("maia-node-2")
        _until(lambda: has_rule("maia-node-2"), 120, "maia-node-2 is not converged after its restart")
        healed = f"maia heal: maia-node-2/start healed: 1 state(s) changed: {rule}"
        _until(lambda: any(healed in line for line in _heal_lines(site_lab, since)), 30,
               f"no line {healed!r} in the master's log")
        assert _predicted_changes(site_lab, "maia-node-2", "maia.prepare") == []
    finally:
        site_lab.start_host("maia-node-2")  # a no-op when it runs
        site_lab.ssh("maia-node-1", f"ufw allow from {peer}", check=False)
        site_lab.ssh("maia-node-2", f"ufw allow from {peer}", check=False)
        _minion_answers(site_lab, "maia-node-2")
        _drop_lab_pillar(pillar_dir, "heal")  # the runner heals nothing from now on
        site_lab.salt("*", "beacons.delete", "maia_heal", "save=True", check=False)
        site_lab.salt("*", "schedule.delete", "maia-drift-check", "persist=True", check=False)


def test_the_scheduled_drift_check_names_a_deleted_rule_in_status(site_lab):
    """pillar maia:drift:interval (the site's pillar) puts maia_drift.check on every minion's
    scheduler through stage 1; a UFW rule deleted on maia-node-1 then shows in `maia status --json`
    within the interval as a drift row naming the host and the state; interval 0 takes the job off."""
    from maia_lab.lab.saltconfig import write_lab_pillar

    pillar_dir = site_lab.path("pillar")
    state = "maia-prepare-ufw-rule-from-maia-node-0-allowed"
    peer = site_lab.host("maia-node-0").address
    write_lab_pillar(pillar_dir, "drift", {"maia": {"drift": {"interval": 30, "stages": ["prepare"]}}})
    try:
        run = maia_install(site_lab, "--stages", "prepare", "--wait")
        assert run.returncode == 0, run.text
        site_lab.ssh("maia-node-1", f"ufw delete allow from {peer}")
        deadline, seen = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            proc = run_maia("status", "-c", site_lab.dir, "--json", timeout=300)
            doc = json.loads(proc.stdout)
            jsonschema.Draft202012Validator(jsonout.schema()).validate(doc)
            seen = {r["host"]: r for r in doc["hosts"] if r["stage"] == "drift"}
            if [c["state"] for c in (seen.get("maia-node-1") or {}).get("changes", [])] == [f"prepare: {state}"]:
                break
            time.sleep(5)
        else:
            raise AssertionError(f"no drift row naming {state} on maia-node-1 within 180 s: {seen}")
        # a check that fired during the install above waited for it (maia_drift.BUSY_WAIT): a row, not a refusal
        assert seen["maia-node-0"]["changed"] == 0 and seen["maia-node-0"]["states"] > 0, seen["maia-node-0"]
    finally:
        site_lab.ssh("maia-node-1", f"ufw allow from {peer}", check=False)
        write_lab_pillar(pillar_dir, "drift", {"maia": {"drift": {"interval": 0}}})
        off = maia_install(site_lab, "--stages", "prepare", "--wait")
        _drop_lab_pillar(pillar_dir, "drift")
    assert off.returncode == 0, off.text
    listed = site_lab.salt("maia-node-1", "schedule.list", "--out=json", "--static", check=False)
    assert "maia-drift-check" not in listed.stdout, listed.stdout
