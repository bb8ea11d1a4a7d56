"""Live progress of `maia install`: master events to records, records to plain lines, busy hosts, Ctrl-C.

The event shapes are the ones a salt-master 3008 publishes (salt/job/<jid>/new,
salt/job/<jid>/ret/<minion>, salt/run/<jid>/new); the lab tests in
tests/e2e/test_install_progress.py check the same path against real runs.
"""
import io

from maia_salt import returns, summary
from maia_salt.install import InstallReport, RunWatch, busy_message, interrupted_message
from maia_salt.progress import PlainProgress

OK = {"result": True, "changes": {}, "comment": "ok", "duration": 500.0, "__run_num__": 0}
CHANGED = {"result": True, "changes": {"new": 1}, "comment": "done", "duration": 1500.0, "__run_num__": 1}
FAILED = {"result": False, "changes": {}, "comment": "disk /dev/x missing", "duration": 1.0, "__run_num__": 2}
BUSY = ['The function "state.sls" is running as PID 146 and was started at 2026, Dec 01 17:00:01.000001 '
        'with jid 20261201170001000001']


def test_master_events_become_records():
    stages = {}
    new = returns.from_event("salt/job/2026/new", {
        "fun": "state.sls", "arg": ["maia.prepare", {"pillar": {"maia": {}}, "__kwarg__": True}],
        "minions": ["maia-node-1", "maia-node-0"], "jid": "2026"}, stages)
    assert new == [returns.JobStarted("2026", "prepare", ["maia-node-0", "maia-node-1"])]
    ret = returns.from_event("salt/job/2026/ret/maia-node-0", {
        "id": "maia-node-0", "fun": "state.sls", "return": {"a_|-b_|-c_|-d": OK}, "retcode": 0}, stages)
    assert ret == [returns.HostReturned("2026", "prepare", "maia-node-0", {"a_|-b_|-c_|-d": OK})]
    # salt-ssh: a ret event with no "new" before it; the stage comes from fun_args
    ssh = returns.from_event("salt/job/2027/ret/maia-node-0", {
        "fun": "state.sls", "fun_args": ["maia.k8s", {"pillar": {}}],
        "return": {"return": {"a_|-b_|-c_|-d": OK}, "retcode": 0}}, stages)
    assert ssh == [returns.HostReturned("2027", "k8s", "maia-node-0", {"a_|-b_|-c_|-d": OK})]
    assert returns.from_event("salt/run/2028/new", {"fun": "runner.maia_orch.sync_minions"}, stages) == [
        returns.StepStarted("sync")]
    # jobs that are not a stage are left out
    assert returns.from_event("salt/job/2029/new", {"fun": "test.ping", "arg": [], "minions": ["x"]}, stages) == []
    assert returns.from_event("salt/job/2029/ret/x", {"fun": "test.ping", "return": True}, stages) == []
    assert returns.from_event("salt/auth", {"id": "x"}, stages) == []


def test_only_this_runs_jobs_are_reported():
    """Two orchestrations at once: each maia install sees the stage jobs that carry its own run mark
    (pillar maia:orch:run, which orch.maia passes on to its stages), not the other's."""
    def new(jid, run):
        pillar = {"maia": {"orch": {"run": run}}} if run else {"maia": {}}
        return returns.from_event(f"salt/job/{jid}/new", {
            "fun": "state.sls", "arg": ["maia.prepare", {"pillar": pillar, "__kwarg__": True}],
            "minions": ["maia-node-0"], "jid": jid}, stages, None, "mine")

    stages = {}
    assert new("4040", "mine") == [returns.JobStarted("4040", "prepare", ["maia-node-0"])]
    assert new("4041", "other") == [] and new("4042", None) == []
    ret = {"id": "maia-node-0", "fun": "state.sls", "return": {"a_|-b_|-c_|-d": OK}}
    assert returns.from_event("salt/job/4041/ret/maia-node-0", {
        **ret, "fun_args": ["maia.prepare", {"pillar": {"maia": {"orch": {"run": "other"}}}}]}, stages, None, "mine") == []
    assert returns.from_event("salt/job/4040/ret/maia-node-0", ret, stages, None, "mine") == [
        returns.HostReturned("4040", "prepare", "maia-node-0", {"a_|-b_|-c_|-d": OK})]


def test_day2_jobs_are_stages_of_their_own_orchestration():
    """maia reset / remove-host show their steps' jobs live as maia install does; orch.maia's
    stage SLS are not theirs, and theirs are not orch.maia's."""
    from maia_salt.orchestrations import INSTALL, REMOVE_HOST, RESET

    def new(sls, plan):
        return returns.from_event("salt/job/3030/new", {"fun": "state.sls", "arg": [sls], "minions": ["n"]}, {},
                                  plan.sls_stage)

    assert new("maia.reset.prepare", RESET) == [returns.JobStarted("3030", "prepare", ["n"])]
    assert new("maia.k8s.clean", RESET) == [returns.JobStarted("3030", "k8s", ["n"])]
    assert new("maia.hosts.removed", REMOVE_HOST) == [returns.JobStarted("3030", "others", ["n"])]
    assert new("maia.prepare", RESET) == [] and new("maia.reset.prepare", INSTALL) == []
    assert returns.from_event("salt/run/3031/new", {"fun": "runner.maia_preflight.run"}, {}) == [
        returns.StepStarted("preflight")]
    data = {"master": {"salt_|-maia-reset-core_|-maia-reset-core_|-state": {
        "result": True, "__run_num__": 0, "__jid__": "3032", "changes": {}}}}
    results, failed = summary.from_orchestration(data, lambda jid, stage: {"n": {"a_|-b_|-c_|-d": OK}}, RESET)
    assert [(r.stage, r.host, r.states) for r in results] == [("core", "n", 1)] and failed == []


def test_plain_lines_as_returns_arrive():
    out = io.StringIO()
    watch = RunWatch(PlainProgress(out))
    watch.feed(returns.StepStarted("sync"))
    watch.feed(returns.JobStarted("2026", "prepare", ["maia-node-0", "maia-node-1"]))
    assert watch.running_hosts() == ["maia-node-0", "maia-node-1"]
    watch.feed(returns.HostReturned("2026", "prepare", "maia-node-1", {"x_|-maia-prepare-lvm_|-n_|-f": FAILED}))
    lines = out.getvalue().splitlines()
    assert "syncing modules and pillar ..." in lines[0]
    assert "stage 1 prepare on maia-node-0, maia-node-1 (job 2026)" in lines[1]
    assert "prepare  maia-node-1         1 states    0 changed   1 failed" in lines[2]
    # the failure is shown with its state ID, host and comment the moment the host answers
    assert lines[3].endswith("FAILED prepare on maia-node-1: maia-prepare-lvm: disk /dev/x missing")
    assert watch.running_hosts() == ["maia-node-0"]
    watch.feed(returns.HostReturned("2026", "prepare", "maia-node-0", {"a_|-s1_|-n_|-f": OK, "a_|-s2_|-n_|-f": CHANGED}))
    assert "prepare  maia-node-0         2 states    1 changed   0 failed     2.0s" in out.getvalue()
    assert all(line.startswith("[") and "s] " in line for line in out.getvalue().splitlines())


def test_application_status_lines_only_when_they_change():
    out = io.StringIO()
    progress = PlainProgress(out)
    progress.app_status([("maia-core-traefik", "OutOfSync", "Missing")])
    progress.app_status([("maia-core-traefik", "OutOfSync", "Missing")])
    progress.app_status([("maia-core-traefik", "Synced", "Healthy")])
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("application maia-core-traefik: OutOfSync / Missing")
    assert lines[1].endswith("application maia-core-traefik: Synced / Healthy")


def test_application_lines_name_their_layer():
    """Stage 4's Applications (maia-admin-*) are labelled admin, stage 3's core."""
    out = io.StringIO()
    progress = PlainProgress(out)
    progress.app_status([("maia-core-traefik", "Synced", "Healthy"), ("maia-admin-keycloak", "Synced", "Healthy")])
    lines = [line.split("] ", 1)[1] for line in out.getvalue().splitlines()]
    assert "core     application maia-core-traefik: Synced / Healthy" in lines
    assert "admin    application maia-admin-keycloak: Synced / Healthy" in lines


def test_every_host_of_a_changed_stage_is_in_the_summary():
    """salt.state's output names only the hosts that changed; the returns seen name all of them."""
    data = {"data": {"master": {"salt_|-maia-orch-stage-prepare_|-maia-orch-stage-prepare_|-state": {
        "result": True, "__run_num__": 1, "__jid__": "2026", "comment": "States ran successfully.",
        "changes": {"out": "highstate", "ret": {"maia-node-0": {"a_|-s_|-n_|-f": CHANGED}}}}}}}
    watch = RunWatch(None)
    for host, ret in (("maia-node-0", {"a_|-s_|-n_|-f": CHANGED}), ("maia-node-1", {"a_|-s_|-n_|-f": OK}),
                      ("maia-node-2", {"a_|-s_|-n_|-f": OK})):
        watch.feed(returns.HostReturned("2026", "prepare", host, ret))
    results, failed = summary.from_orchestration(data, watch.lookup)
    assert failed == []
    assert [(r.host, r.states, r.changed) for r in results] == [
        ("maia-node-0", 1, 1), ("maia-node-1", 1, 0), ("maia-node-2", 1, 0)]
    assert "3 hosts, 3 states, 1 changed, 0 failed" in summary.render(results)


def test_salt_ssh_step_jid_is_not_the_job_cache_jid():
    """Over salt-ssh with no master, salt.state's __jid__ is the hosts' own salt-call jid; the
    returns seen in the job cache are under the job's jid. A no-op run still names every host."""
    data = {"data": {"vm_master": {"salt_|-maia-orch-stage-prepare_|-maia-orch-stage-prepare_|-state": {
        "result": True, "__run_num__": 0, "__jid__": "20261201183241426561", "changes": {},
        "comment": "States ran successfully. No changes made to maia-node-0, maia-node-1."}}}}
    watch = RunWatch(None)
    watch.feed(returns.JobStarted("20261201183208000001", "prepare", ["maia-node-0", "maia-node-1"]))
    for host in ("maia-node-0", "maia-node-1"):
        watch.feed(returns.HostReturned("20261201183208000001", "prepare", host, {"a_|-s_|-n_|-f": OK}))
    results, _ = summary.from_orchestration(data, watch.lookup)
    assert [(r.host, r.states, r.changed) for r in results] == [("maia-node-0", 1, 0), ("maia-node-1", 1, 0)]


def test_hosts_busy_with_an_earlier_run_are_named_once():
    results = [summary.host_result("prepare", h, BUSY) for h in ("maia-node-0", "maia-node-1")]
    assert [r.busy for r in results] == ["20261201170001000001"] * 2
    busy = summary.busy_hosts(results)
    assert busy == {"20261201170001000001": ["maia-node-0", "maia-node-1"]}
    text = InstallReport(results, [], 1.0, 1, busy=busy).render()
    assert text.count("is running as PID") == 0
    assert text.count("20261201170001000001") == 1
    assert "BUSY maia-node-0, maia-node-1: an earlier state run (job 20261201170001000001) is still running" in text
    assert busy_message(busy) == ("maia-node-0, maia-node-1 are still running an earlier state run "
                                  "(job 20261201170001000001), so nothing ran there")
    out = io.StringIO()
    watch = RunWatch(PlainProgress(out))
    for r in results:
        watch.feed(returns.HostReturned("2030", "prepare", r.host, BUSY))
    assert out.getvalue() == ""  # not the raw message once per host


def test_ctrl_c_says_what_goes_on_and_how_to_stop_it():
    watch = RunWatch(None)
    assert "nothing is left running" in interrupted_message("/etc/salt", False, watch)
    watch.feed(returns.JobStarted("2026", "prepare", ["maia-node-0", "maia-node-1"]))
    watch.feed(returns.HostReturned("2026", "prepare", "maia-node-1", {"a_|-s_|-n_|-f": OK}))
    text = interrupted_message("/srv/lab", False, watch)
    assert "maia-node-0 carry on with stage prepare (job 2026)" in text
    assert "salt-run -c /srv/lab jobs.active" in text
    assert "salt -c /srv/lab -L maia-node-0 saltutil.kill_job 2026" in text
    ssh = interrupted_message("/srv/lab", True, watch)
    assert "salt-ssh -c /srv/lab -L maia-node-0 saltutil.running" in ssh


def test_terminal_view_is_a_live_table_and_a_pipe_gets_lines():
    from rich.console import Console

    from maia_salt.progress import LiveProgress, for_stream

    assert isinstance(for_stream(io.StringIO()), PlainProgress)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    # `maia preflight | cat`: standard error a terminal, standard output a pipe: plain lines
    assert isinstance(for_stream(Terminal(), io.StringIO()), PlainProgress)
    screen = io.StringIO()
    live = LiveProgress(Console(file=screen, force_terminal=True, width=120))
    try:
        watch = RunWatch(live)
        watch.feed(returns.JobStarted("2026", "core", ["maia-node-0"]))
        live.app_status([("maia-core-traefik", "Synced", "Progressing")])
        table = io.StringIO()
        Console(file=table, width=120).print(live._table())
        assert "maia-node-0" in table.getvalue() and "running" in table.getvalue()
        assert "app maia-core-traefik" in table.getvalue() and "Synced/Progressing" in table.getvalue()
        watch.feed(returns.HostReturned("2026", "core", "maia-node-0", {"x_|-maia-core-app_|-n_|-f": FAILED}))
        table = io.StringIO()
        Console(file=table, width=120).print(live._table())
        row = next(line for line in table.getvalue().splitlines() if "maia-node-0" in line)
        assert row.split()[:5] == ["core", "maia-node-0", "1", "0", "1"], row
    finally:
        live.close()
    # the failure went to the terminal as a line at once, not only into the table
    assert "FAILED core on maia-node-0: maia-core-app: disk /dev/x missing" in screen.getvalue()


def test_only_this_runs_runner_steps_are_reported():
    """maia preflight (and every maia run) shows the runner steps of its own orchestration only:
    the one whose state.orch job carries its run mark; Salt announces each runner step of an
    orchestration as salt/run/<orchestration jid>/args."""
    orchs, stages = set(), {}

    def event(tag, data):
        return returns.from_event(tag, data, stages, None, "mine", orchs)

    def orch(jid, run):
        return event(f"salt/run/{jid}/new", {"fun": "runner.state.orch", "fun_args": [
            "orch.maia_preflight", {"pillar": {"maia": {"orch": {"ssh": False, "run": run}}}}]})

    assert orch("5050", "mine") == [] and orch("5051", "other") == []
    step = {"type": "runner", "name": "maia_orch.sync_minions", "args": [], "kwargs": {}}
    assert event("salt/run/5050/args", step) == [returns.StepStarted("sync")]
    assert event("salt/run/5051/args", step) == []  # the other orchestration's step
    # a runner job's own start names no orchestration: not a step of this run
    assert event("salt/run/5052/new", {"fun": "runner.maia_preflight.run"}) == []
    assert event("salt/run/5050/args", {"type": "runner", "name": "maia_preflight.run"}) == [
        returns.StepStarted("preflight")]
    # orch.maia with minions: the module sync rides in the preflight's job, and the line says so
    ridden = {"type": "runner", "name": "maia_preflight.run", "args": [], "kwargs": {"sync": ["modules"]}}
    assert event("salt/run/5050/args", ridden) == [returns.StepStarted("sync-preflight")]



def test_the_one_job_rows_take_the_place_of_the_hosts_one_job_row():
    """orch.maia's one-job step: the live view opens one row per host under "stages" and puts each
    host's stage rows in its place as the host returns (install.RunWatch splits the return)."""
    out = io.StringIO()
    progress = PlainProgress(out)
    watch = RunWatch(progress, {"stages": {"maia.prepare": "prepare", "maia.k8s": "k8s"}})
    watch.feed(returns.JobStarted("7", "stages", ["maia-node-0", "maia-node-1"]))
    state = {"result": True, "changes": {}, "comment": "", "duration": 1.0}
    watch.feed(returns.HostReturned("7", "stages", "maia-node-0", {
        "a_|-x_|-x_|-y": dict(state, __sls__="maia.prepare.ufw"), "a_|-k_|-k_|-y": dict(state, __sls__="maia.k8s")}))
    assert progress.hosts["stages"] == ["maia-node-1"]  # still running
    assert set(progress.done) == {("prepare", "maia-node-0"), ("k8s", "maia-node-0")}
    text = out.getvalue()
    assert "every stage in one job per host" in text
    assert "prepare  maia-node-0" in text and "k8s      maia-node-0" in text
