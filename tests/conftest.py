"""Suite-wide collection rules: which tests are the lab tier, and how `make test` runs the tiers at once.

- A test that needs a `maia lab` (the ``lab`` marker, or a fixture of ``LAB_FIXTURES``) is marked
  ``lab``: ``-m lab`` / ``-m "not lab"`` select the tiers.
- Under pytest-xdist with ``--dist loadscope`` (`make test` runs ``-n 2 --dist loadscope``) the
  lab tests of one test folder (``tests/e2e``, ``tests/lab``, ``tests/prepare``, ...) go to one
  worker together, in collection order: a folder's labs come up once, in that worker, and a later
  test still finds the lab an earlier one converged (no lab is shared across folders: the e2e
  lab is the ``tests/e2e`` package's, ``lab``/``lab_minions`` are used in ``tests/lab`` only, the
  others are per module, but ``tests/k8s`` shares one among its modules; its modules with a lab of
  their own, ``OWN_LAB_MODULES``, are a scope each). These lab scopes are
  handed out first, the one with the most tests
  (``tests/e2e``, the longest) first, so both workers start on a lab folder and the other tests
  go module by module to whichever worker is free. Without xdist nothing changes (one process,
  collection order).

At the end of an xdist run the controller prints each worker's time in tests and when its last
test ended (``pytest_terminal_summary``): a worker that ended long before the other was idle
while the run waited for the last tests.

How: each worker writes the ids of the lab tests it collected into a file the controller named
(``pytest_configure_node``), and the controller's scheduler (``pytest_xdist_make_scheduler``)
gives each folder's lab tests one scope. (xdist's own ``xdist_group`` marker does not group with pytest 9.2:
xdist 3.8 renames ``item._nodeid``, which pytest 9.2 no longer reads.)
"""
import glob
import os
import shutil
import tempfile
import time

import pytest

# fixtures that bring up (or hold) a lab; see tests/support/lab.py and tests/e2e/conftest.py
LAB_FIXTURES = {"lab", "lab_minions", "site_lab"}
LAB_SCOPE = "maia-lab"
WORKER_KEY = "maia_lab_tests"


# lab test modules in a shared folder that bring up a lab of their own (a module fixture) and need
# nothing an earlier module of the folder converged: a scope each, so that the two workers share
# the long lab folders out (tests/k8s: the salt-ssh lab of test_k8s_lab*.py, these two beside it)
OWN_LAB_MODULES = {"tests/k8s/test_k8s_workers_lab.py", "tests/k8s/test_k8s_lab_minions.py"}


def lab_scope(nodeid: str) -> str:
    """The xdist scope of a lab test: its test folder's (``maia-lab:tests/e2e``), or its module's
    for ``OWN_LAB_MODULES``."""
    path = nodeid.split("::", 1)[0]
    return f"{LAB_SCOPE}:{path if path in OWN_LAB_MODULES else '/'.join(path.split('/')[:2])}"


def is_lab_test(item) -> bool:
    return item.get_closest_marker("lab") is not None or bool(LAB_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_itemcollected(item):
    """Marks each lab test as it is collected, before ``-m`` selects."""
    if is_lab_test(item) and item.get_closest_marker("lab") is None:
        item.add_marker(pytest.mark.lab)


@pytest.hookimpl(tryfirst=True)  # written before xdist tells the controller the collection is done
def pytest_collection_finish(session):
    """In an xdist worker: the ids of the lab tests it will run, for the controller's scheduler."""
    target = getattr(session.config, "workerinput", {}).get(WORKER_KEY)
    if target:
        ids = [item.nodeid for item in session.items if is_lab_test(item)]
        path = f"{target}.{session.config.workerinput['workerid']}"
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            fh.write("\n".join(ids))
        os.replace(path + ".tmp", path)


_lab_lists = {}


def _lab_list(config) -> str:
    if "path" not in _lab_lists:
        folder = tempfile.mkdtemp(prefix="maia-lab-tier-")
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
        _lab_lists["path"] = os.path.join(folder, "lab-tests")
    return _lab_lists["path"]


@pytest.hookimpl(optionalhook=True)  # xdist's hooks: the suite also runs without it (-p no:xdist)
def pytest_configure_node(node):
    """xdist controller: where this worker lists its lab tests."""
    node.workerinput[WORKER_KEY] = _lab_list(node.config)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LabTierScheduling(LoadScopeScheduling):
        """``loadscope`` with one scope per folder of lab tests, handed out before the other scopes."""

        lab_ids = None
        lab_first = False

        def _split_scope(self, nodeid):
            if self.lab_ids is None:  # read once every worker has collected (schedule() runs then)
                self.lab_ids = set()
                for path in glob.glob(_lab_list(config) + ".gw*[0-9]"):
                    with open(path, encoding="utf-8") as fh:
                        self.lab_ids.update(line for line in fh.read().splitlines() if line)
            return lab_scope(nodeid) if nodeid in self.lab_ids else nodeid.split("::", 1)[0]

        def _assign_work_unit(self, node):
            if not self.lab_first:  # the first hand-out: lab scopes to the front, most tests first
                self.lab_first = True
                for scope in sorted((s for s in self.workqueue if s.startswith(LAB_SCOPE)),
                                    key=lambda s: len(self.workqueue[s])):
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return LabTierScheduling(config, log)


_workers = {}  # xdist controller: {worker id: {"busy": seconds in tests, "end": when its last test ended, "last": its id}}
_started = {}


def pytest_sessionstart(session):
    _started["at"] = time.monotonic()


def pytest_runtest_logreport(report):
    """xdist controller: each worker's time in tests (setup, call, teardown) and its last test's end."""
    node = getattr(report, "node", None)  # set on the reports a worker sends the controller
    if node is None or not hasattr(node, "gateway"):
        return
    seen = _workers.setdefault(node.gateway.id, {"busy": 0.0, "end": 0.0, "last": ""})
    seen["busy"] += report.duration
    if report.when == "teardown":
        seen["end"], seen["last"] = time.monotonic() - _started.get("at", time.monotonic()), report.nodeid


def pytest_terminal_summary(terminalreporter):
    if not _workers:
        return
    terminalreporter.section("xdist workers")
    latest = max(w["end"] for w in _workers.values())
    for wid, seen in sorted(_workers.items()):
        terminalreporter.write_line(
            f"{wid}: {seen['busy']:.0f}s in tests, last test ended at {seen['end']:.0f}s "
            f"(idle {latest - seen['end']:.0f}s before the last worker ended): {seen['last']}")
