"""The preflight checks that need no Salt daemon: real sockets, real resolver, real CONFIG_FOLDERs.

Host-wide checks (devices, addresses, ports, clocks on real hosts) are in
tests/e2e/test_day1_preflight.py on the lab, the runner with real daemons in tests/functional/test_day2_preflight_runner.py.
"""
import os
import socket

import pytest

from maia_salt.day2 import PreflightReport, preflight_rows
from support.modules import load_salt_module


def load(kind, name):
    return load_salt_module(f"{kind}/{name}.py", f"maia_test_{name}")


@pytest.fixture(scope="module")
def checks():
    return load("_modules", "maia_preflight")


@pytest.fixture(scope="module")
def runner():
    return load("_runners", "maia_preflight")


def test_supported_releases_are_those_the_render_tests_cover(checks):
    from prepare.test_render import OS  # stage 1 rendered for each release (per-OS parameters included)

    assert sorted(checks.SUPPORTED_OS) == sorted(grains["osfinger"] for grains in OS.values())
    assert checks.os_findings("Debian-12") == []
    (finding,) = checks.os_findings("CentOS Stream-9")
    assert finding["level"] == "error" and "CentOS Stream-9" in finding["message"]
    assert "Ubuntu-24.04" in finding["fix"]


def test_busy_port_names_the_process_and_a_free_port_passes(checks):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    try:
        (finding,) = checks.port_findings([port])
        with open("/proc/self/comm", encoding="utf-8") as fh:
            me = fh.read().strip()
        assert finding["check"] == "ports" and f"{me} (pid {os.getpid()})" in finding["message"]
        assert str(port) in finding["fix"]
        # a listener maia-salt itself runs there (e.g. kubelite on 16443) is fine
        checks.OWN_LISTENERS[port] = {me}
        assert checks.port_findings([port]) == []
    finally:
        checks.OWN_LISTENERS.pop(port, None)
        sock.close()
    assert checks.port_findings([port]) == []


def test_inventory_address_must_be_one_of_the_hosts_own(checks):
    def address_findings(address, own):
        return [f for f in checks.names_findings("node", address, own=own) if "inventory address" in f["message"]]

    assert address_findings("10.1.2.3", ["10.1.2.3", "192.0.2.1"]) == []
    (wrong,) = address_findings("203.0.113.7", ["10.1.2.3"])
    assert "not an address of this host (it has 10.1.2.3)" in wrong["message"]
    (unresolved,) = address_findings("no-such-host.invalid", ["10.1.2.3"])
    assert "does not resolve" in unresolved["message"]
    (missing,) = checks.names_findings("node", "", own=[])[-1:]
    assert "no address" in missing["message"]


def test_report_shows_every_problem_by_host_with_its_fix():
    hosts = {
        "node-a": {"checks": ["os", "storage"], "findings": [
            {"check": "storage", "level": "error", "message": "device_list: /dev/vdz does not exist", "fix": "attach it"},
            {"check": "gpu", "level": "warning", "message": "GPU but drivers off", "fix": "turn them on"},
        ]},
        "node-b": {"checks": ["os"], "findings": [
            {"check": "ports", "level": "error", "message": "TCP port 443 is taken by apache2 (pid 7)", "fix": "stop it"},
        ]},
        "site": {"checks": ["config_folder"], "findings": []},
    }
    report = PreflightReport(hosts, [("maia-orch-preflight", "Runner function failed")], 1.0, 1,
                             results=preflight_rows(hosts))
    assert not report.ok and len(report.errors) == 2 and len(report.warnings) == 1
    text = report.render()
    for expected in ("node-a", "/dev/vdz does not exist", "attach it", "port 443", "stop it",
                     "WARNING preflight on node-a: gpu", "preflight FAILED: 2 error(s)"):
        assert expected in text, text
    assert [r.failed for r in report.results] == [1, 1, 0]
    passed = PreflightReport({"site": {"checks": ["config_folder"], "findings": []}}, [], 1.0, 0,
                             results=preflight_rows({}))
    assert passed.ok and passed.render().endswith("preflight passed")


def _worker_pillar(address, distribution="k3s"):
    return {"maia": {"cluster": {"k8s_distribution": distribution},
                     "hosts": {"cp": {"address": address, "roles": ["control-plane"]},
                               "w1": {"address": "127.0.0.1", "roles": ["worker"]}}}}


def test_a_worker_reaches_the_control_planes_join_port(checks, monkeypatch):
    """A worker connects to the control plane's join port (real sockets on loopback): answering or
    refusing (nothing listens there before the first stage 2) is fine; no answer at all is a warning
    naming the address, the port and the fix. Without a control-plane address nothing is checked."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setitem(checks.JOIN_PORTS, "k3s", server.getsockname()[1])
        assert checks.join_findings(_worker_pillar("127.0.0.1")) == []
    # the socket is closed now: a refused connection
    assert checks.join_findings(_worker_pillar("127.0.0.1")) == []
    # a port whose accept queue is full drops new connections, as a firewall that drops does
    with socket.socket() as server, socket.socket() as first:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        first.connect(("127.0.0.1", port))
        monkeypatch.setitem(checks.JOIN_PORTS, "k3s", port)
        (finding,) = checks.join_findings(_worker_pillar("127.0.0.1"), timeout=0.5)
    assert finding["level"] == "warning" and finding["check"] == "join"
    assert f"127.0.0.1:{port}" in finding["message"] and f"TCP {port}" in finding["fix"]
    assert checks.join_findings({"maia": {"cluster": {}, "hosts": {}}}) == []
    assert checks.JOIN_PORTS == {"microk8s": 25000, "k3s": port, "rke2": 9345, "k0s": 6443}
