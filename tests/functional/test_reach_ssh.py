"""Over salt-ssh, the hosts whose SSH server does not answer are named before any stage starts.

Real: Salt's roster loader reading a flat roster file, TCP on loopback (one server that greets as
an SSH server does, one that accepts and stays silent, one closed port). The lab test with sshd
stopped on a host is tests/e2e/test_run_checks.py.
"""
import socket
import threading
import time

import pytest
from click.testing import CliRunner

from maia_salt import cli, reach
from maia_salt.install import InstallReport, master_opts


def _server(greeting: bytes | None):
    """A loopback TCP server that sends ``greeting`` to each client (None: says nothing); its port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held = []

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)
            if greeting:
                conn.sendall(greeting)

    threading.Thread(target=serve, daemon=True).start()
    return sock


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def salt_config(tmp_path):
    """A master config whose roster_file has: a host with an SSH server, one whose port accepts and
    stays silent, one whose port is closed (maia-node-3 is not in the roster)."""
    greeting, silent = _server(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), _server(None)
    roster = tmp_path / "roster"
    roster.write_text(
        f"maia-node-0: {{host: 127.0.0.1, port: {greeting.getsockname()[1]}, user: root}}\n"
        f"maia-node-1: {{host: 127.0.0.1, port: {silent.getsockname()[1]}, user: root}}\n"
        f"maia-node-2: {{host: 127.0.0.1, port: {_closed_port()}, user: root}}\n")
    (tmp_path / "master").write_text(f"roster_file: {roster}\ncachedir: {tmp_path / 'cache'}\n"
                                     f"pki_dir: {tmp_path / 'pki'}\n")
    yield str(tmp_path)
    greeting.close()
    silent.close()


HOSTS = ["maia-node-0", "maia-node-1", "maia-node-2", "maia-node-3"]


def test_hosts_without_a_greeting_ssh_server_are_named_within_the_timeout(salt_config):
    started = time.monotonic()
    absent = reach.absent_ssh_hosts(master_opts(salt_config), HOSTS, timeout=2)
    took = time.monotonic() - started
    assert absent == ["maia-node-1", "maia-node-2", "maia-node-3"]
    assert took < 2 + 3, took  # asked in parallel: one timeout, not one per host


def test_install_over_ssh_stops_before_any_stage_naming_the_host_and_the_fix(salt_config, monkeypatch):
    started = []
    monkeypatch.setattr(cli, "_site_checked", lambda salt_config, extra: HOSTS[:1] + HOSTS[2:3])
    monkeypatch.setattr(cli, "run_with_progress", lambda *args, **kw: started.append(kw))
    result = CliRunner().invoke(cli.main, ["install", "--ssh", "-c", salt_config])
    assert result.exit_code == 1, result.output
    assert "not answering: maia-node-2: start its SSH server" in result.output
    assert "--skip-unreachable" in result.output and "nothing was run" in result.output
    assert started == []


def test_skip_unreachable_over_ssh_leaves_the_host_out_and_reports_it(salt_config, monkeypatch):
    given = {}
    monkeypatch.setattr(cli, "_site_checked", lambda salt_config, extra: HOSTS[:1] + HOSTS[2:3])
    # the run itself (over salt-ssh, the others converge) is recorded: a report of a run that changed nothing
    monkeypatch.setattr(cli, "run_with_progress",
                        lambda *args, **kw: given.update(kw) or InstallReport([], [], 0.0, 0))
    result = CliRunner().invoke(cli.main, ["install", "--ssh", "--skip-unreachable", "-c", salt_config])
    assert result.exit_code == 1, result.output
    assert given["pillar"]["maia"]["orch"]["skip"] == ["maia-node-2"], given
    assert "warning: not answering: maia-node-2" in result.output
    assert "maia-node-2: did not answer: left out of this run (--skip-unreachable)" in result.output


def test_status_over_ssh_asks_each_hosts_ssh_server(salt_config, monkeypatch):
    """`maia status --ssh`: the job cache's rows are left empty here (tests/unit/test_status.py reads
    them); each inventory host is asked on the roster's port: maia-node-2's is closed."""
    monkeypatch.setattr(cli, "_site_checked", lambda salt_config, extra: HOSTS[:1] + HOSTS[2:3])
    monkeypatch.setattr("maia_salt.status.last_runs", lambda run, hosts: [])
    result = CliRunner().invoke(cli.main, ["status", "--ssh", "-c", salt_config])
    assert result.exit_code == 1, result.output
    assert "host maia-node-0: answers" in result.output and "host maia-node-2: DOES NOT ANSWER" in result.output
