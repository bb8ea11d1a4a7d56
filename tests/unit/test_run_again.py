"""When a run of an orchestration runs again (src/maia_salt/run_again.py, install.run_orchestration):
a host whose ssh session sent nothing back is named as such, and the orchestration runs once more
when that is all that went wrong (over salt-ssh only).

The salt-ssh return below was captured from salt-ssh 3008 against a real sshd; the run itself is
replaced by a sequence of reports (``install._run_once``): what is tested is the decision."""
import io

from maia_salt import summary
from maia_salt.install import InstallReport
from maia_salt.progress import PlainProgress

CHANGED = {"result": True, "changes": {"new": 1}, "comment": "done", "duration": 1500.0, "__run_num__": 1}
FAILED = {"result": False, "changes": {}, "comment": "disk /dev/x missing", "duration": 1.0, "__run_num__": 2}


# What salt-ssh 3008 returns for a host whose ssh session ends without a byte of output (seen with
# `salt-ssh h1 state.sls foo --out json` against an sshd with `ForceCommand /bin/true`)
SILENT = {"stdout": "", "stderr": "", "retcode": 0, "parsed": None, "_error": "Failed to return clean data"}


def test_a_host_that_sent_nothing_over_ssh_is_named_as_such():
    for ret in (SILENT, ""):  # the job cache's entry; the orchestration's changes carry ''
        r = summary.host_result("k8s", "maia-node-0", ret)
        assert r.no_reply and not r.ok
        assert r.error.startswith("no reply from the host over ssh"), r.error
    assert "Failed to return clean data, exit code 0" in summary.host_result("k8s", "h", SILENT).error
    # output on stderr is an answer (e.g. a refused login): not a silent session
    spoke = summary.host_result("k8s", "h", {**SILENT, "stderr": "Permission denied (publickey)."})
    assert not spoke.no_reply and spoke.error == "Permission denied (publickey)."


def test_a_silent_host_runs_the_orchestration_once_more_and_says_so(monkeypatch):
    from maia_salt import install

    silent = InstallReport([summary.host_result("k8s", "maia-node-0", SILENT)],
                           [("maia-orch-stage-k8s", "Run failed on minions: maia-node-0")], 2.0, 1)
    done = InstallReport([summary.host_result("k8s", "maia-node-0", {"a_|-s_|-n_|-f": CHANGED})], [], 3.0, 0)
    failed = InstallReport([summary.host_result("k8s", "maia-node-0", {"a_|-s_|-n_|-f": FAILED}),
                            summary.host_result("k8s", "maia-node-1", SILENT)], [], 3.0, 1)

    def run_with(reports, ssh=True):
        attempts = list(reports)
        monkeypatch.setattr(install, "_run_once", lambda *a, **k: (attempts.pop(0), None))
        out = io.StringIO()
        report = install._run_until_not_busy("/srv/lab", None, install.INSTALL, None, ssh, None, False, 60,
                                             PlainProgress(out), False)
        return report, len(reports) - len(attempts), out.getvalue()

    report, attempts, printed = run_with([silent, done])
    assert (report.ok, attempts) == (True, 2)
    assert report.notes == ["maia-node-0 sent no reply over ssh in the first attempt (0 states had changed by "
                            "then); ran the orchestration again"]
    assert "ran the orchestration again ..." in printed and "NOTE maia-node-0 sent no reply" in report.render()
    # once only: a host silent twice is reported, with the note of the first attempt
    report, attempts, _ = run_with([silent, silent, done])
    assert (report.ok, attempts, len(report.notes)) == (False, 2, 1)
    # a failed state beside a silent host: the failure is the report, nothing runs again
    assert run_with([failed, done])[1] == 1
    # with minions a silent host is not this transport's failure: no run again
    assert run_with([silent, done], ssh=False)[1] == 1
