"""tests/conftest.py's xdist scheduler (`make test` runs ``-n 2 --dist loadscope``): each folder's
lab tests stay in one worker in collection order, the lab folders are handed out first (the one
with the most tests first), so two lab folders run at once on the two workers, and the other
tests fill in. Checked on a small suite of its own run by real pytest-xdist with the suite's
conftest.py."""
import json
import os
import subprocess
import sys

from support.paths import REPO

RECORD = """
import json, os, time

import pytest


def record(request):
    with open(os.environ["SCHEDULE_LOG"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps([request.node.nodeid, os.environ.get("PYTEST_XDIST_WORKER")]) + "\\n")
    time.sleep(0.2)
"""


def lab_tests(count):
    return RECORD + "".join(f"\n\n@pytest.mark.lab\ndef test_{i}(request):\n    record(request)\n" for i in range(count))


def plain_tests(count):
    return RECORD + "".join(f"\n\ndef test_{i}(request):\n    record(request)\n" for i in range(count))


def test_each_lab_folder_runs_in_one_worker_and_two_lab_folders_start_at_once(tmp_path):
    files = {
        "tests/e2e/test_site.py": lab_tests(4), "tests/e2e/test_more.py": lab_tests(2),
        "tests/lab/test_lab.py": lab_tests(3),
        "tests/unit/test_a.py": plain_tests(6), "tests/unit/test_b.py": plain_tests(6),
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    # the suite's own collection rules, read from the repository at test time
    (tmp_path / "tests" / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text(encoding="utf-8"))
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    lab: a lab test\n", encoding="utf-8")
    log = tmp_path / "schedule.jsonl"
    # only xdist among the installed plugins (salt-factories and the others make each worker start slowly)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "xdist.plugin", "-n", "2",
                           "--dist", "loadscope", "tests"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "SCHEDULE_LOG": str(log), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(runs) == 21
    worker = {}
    for nodeid, wid in runs:
        worker.setdefault(nodeid.split("/")[1], set()).add(wid)
    assert len(worker["e2e"]) == 1 and len(worker["lab"]) == 1, worker  # one worker per lab folder
    assert worker["e2e"] != worker["lab"], worker  # the two lab folders ran on the two workers
    e2e = [nodeid for nodeid, _ in runs if "/e2e/" in nodeid]
    assert e2e == [f"tests/e2e/test_more.py::test_{i}" for i in range(2)] + \
        [f"tests/e2e/test_site.py::test_{i}" for i in range(4)], e2e  # in collection order
    first_two = {runs[0][0].split("/")[1], runs[1][0].split("/")[1]}
    assert first_two == {"e2e", "lab"}, runs[:2]  # both workers began with a lab folder
    # the summary of each worker's time: in tests (21 tests of 0.2 s or more), its last test's end
    import re

    summary = re.findall(r"^(gw[01]): (\d+)s in tests, last test ended at (\d+)s \(idle (\d+)s", proc.stdout, re.M)
    assert sorted(w for w, *_ in summary) == ["gw0", "gw1"], proc.stdout
    assert sum(int(busy) for _, busy, _, _ in summary) >= 3 and min(int(idle) for *_, idle in summary) == 0, summary


def test_a_module_with_its_own_lab_is_a_scope_of_its_own():
    """tests/k8s' lab tests share a folder scope (its salt-ssh lab is the package's), except the
    modules that bring up their own lab: those can run on the other worker."""
    import importlib.util

    # the suite's own conftest.py, by path: the name "conftest" may be another folder's in this process
    spec = importlib.util.spec_from_file_location("maia_suite_conftest", REPO / "tests" / "conftest.py")
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    OWN_LAB_MODULES, lab_scope = suite.OWN_LAB_MODULES, suite.lab_scope
    assert lab_scope("tests/k8s/test_k8s_lab.py::test_x") == lab_scope("tests/k8s/test_k8s_lab_restore.py::test_y")
    assert lab_scope("tests/e2e/test_orchestration.py::test_z") == "maia-lab:tests/e2e"
    for module in OWN_LAB_MODULES:
        assert (REPO / module).is_file(), module
        assert lab_scope(f"{module}::test_a[k3s]") == f"maia-lab:{module}" != lab_scope("tests/k8s/test_k8s_lab.py::t")
