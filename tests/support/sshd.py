"""A throwaway sshd on 127.0.0.1 (pytest-salt-factories) for the salt-ssh tests of this machine."""
import contextlib
import getpass
import os

import psutil


@contextlib.contextmanager
def stopped_at_the_end(daemon, attempts=3):
    """``daemon.started()``, with a stop that survives any process of this machine ending meanwhile:
    pytest-shell-utilities 1.9.7 then scans every process's sockets for the daemon's port and lets
    psutil.NoSuchProcess through (it catches AccessDenied and ZombieProcess only), which failed a
    CI run after the test had passed; the scan is run again."""
    daemon.start()
    try:
        yield daemon
    finally:
        for attempt in range(attempts):
            try:
                daemon.terminate()
                break
            except psutil.NoSuchProcess:
                if attempt == attempts - 1:
                    raise


def local_sshd(salt_factories):
    """An sshd on 127.0.0.1 that lets this user in with the factories' client key (not started)."""
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    return salt_factories.get_sshd_daemon(
        listen_address="127.0.0.1",
        sshd_config_dict={
            "PermitRootLogin": "yes",
            "StrictModes": "no",  # its keys live under /tmp
            "Subsystem": "sftp /usr/lib/openssh/sftp-server",  # scp needs it
        },
    )


def roster_entry(sshd) -> dict:
    """A salt-ssh roster entry for ``sshd``."""
    return {"host": "127.0.0.1", "port": sshd.listen_port, "user": getpass.getuser(),
            "priv": str(sshd.client_key),
            # the system python, not the pyenv shim this machine puts first on PATH
            "set_path": "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"}
