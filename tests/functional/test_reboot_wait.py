"""maia_orch.wait_for_reboots through a real salt-master and salt-minion.

A real NVIDIA reboot cannot happen here (no GPU, and the minion is this
machine); the reboot is simulated by what it does to the mark: the file under
/run disappears. The runner must wait while the mark is there and return once
the host answers without it.
"""
import threading
import time


def run_wait(salt_master, *args):
    return salt_master.salt_run_cli(timeout=120).run("maia_orch.wait_for_reboots", *args)


def test_no_mark_returns_at_once(salt_master, salt_minion, tmp_path):
    ret = run_wait(salt_master, salt_minion.id, f"marker={tmp_path / 'mark'}")
    assert ret.returncode == 0, ret
    assert ret.data["rebooted"] == []


def test_waits_until_the_mark_is_gone(salt_master, salt_minion, tmp_path, event_listener):
    mark = tmp_path / "mark"
    mark.write_text("")
    since = time.time()

    def reboot_once_seen():
        # the "reboot" happens after the runner's first look at the host (its first job returned
        # with the mark there), not after a fixed delay a loaded machine may outrun
        event_listener.wait_for_events([(salt_master.id, f"salt/job/*/ret/{salt_minion.id}")], timeout=100,
                                       after_time=since)
        time.sleep(3)
        mark.unlink()

    threading.Thread(target=reboot_once_seen, daemon=True).start()
    started = time.monotonic()
    ret = run_wait(salt_master, salt_minion.id, f"marker={mark}", "interval=1", "timeout=60")
    assert ret.returncode == 0, ret
    assert ret.data["rebooted"] == [salt_minion.id]
    assert time.monotonic() - started >= 3


def test_host_not_back_in_time_fails_with_its_name(salt_master, salt_minion, tmp_path):
    mark = tmp_path / "mark"
    mark.write_text("")
    ret = run_wait(salt_master, salt_minion.id, f"marker={mark}", "interval=1", "timeout=3")
    assert ret.returncode != 0
    assert f"{salt_minion.id} did not come back from the NVIDIA driver reboot within 3s" in str(ret.data) + ret.stdout + ret.stderr
