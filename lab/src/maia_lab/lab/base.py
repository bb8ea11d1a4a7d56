"""The cached base root every lab host starts from (debootstrap, made once per suite)."""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time

from . import aptsources
from .util import echo, run, write_file

CACHE_DIR = os.environ.get("MAIA_LAB_CACHE", "/var/cache/maia-lab")
SUITES = ("bookworm", "trixie")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

# minbase plus what a lab host needs: systemd as init, sshd for salt-ssh,
# python3 for Salt's thin, iproute2/ping for the network, ca-certificates
# (without it pygit2 logs a certificate error in every minion), procps for ps.
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "iproute2",
    "iputils-ping",
    "ca-certificates",
    "procps",
)
# Units that make no sense in a lab host, or that would take the dpkg lock at
# random times during tests.
MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "apt-daily.service",
    "apt-daily-upgrade.service",
    "e2scrub_reap.service",
    "e2scrub_all.timer",
    "systemd-timesyncd.service",
    "fstrim.timer",
    "man-db.timer",
    "dpkg-db-backup.timer",
)
FORMAT = "3"  # bump when the customisation below changes


def stamp() -> str:
    text = FORMAT + "\n" + "\n".join(PACKAGES) + "\n" + "\n".join(MASKED_UNITS)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def root_path(suite: str) -> str:
    """The base root for the current package list: a new folder when it changes, so labs
    still running on an older root keep it."""
    return os.path.join(CACHE_DIR, suite, f"root-{stamp()}")


def is_ready(suite: str) -> bool:
    return os.path.isfile(root_path(suite) + ".complete") and os.path.isdir(root_path(suite))


def _in_use(path: str) -> bool:
    """True when a mounted overlay uses ``path`` as its lower layer."""
    with open("/proc/mounts", encoding="utf-8") as fh:
        return any(f"lowerdir={path}," in line or f"lowerdir={path} " in line or f"lowerdir={path}:" in line for line in fh)


def _remove_old_roots(suite_dir: str, keep: str, quiet: bool = False) -> None:
    for entry in os.listdir(suite_dir):
        path = os.path.join(suite_dir, entry)
        if entry == "stamp" or (entry.endswith(".complete") and not os.path.isdir(path[: -len(".complete")])):
            os.unlink(path)  # marker of a root that is gone (or of the old layout)
            continue
        if path == keep or not (entry == "root" or entry.startswith("root-")) or not os.path.isdir(path):
            continue
        if _in_use(path):
            if not quiet:
                echo(f"keeping the old base root {path}: a running lab uses it")
            continue
        shutil.rmtree(path, ignore_errors=True)


def ensure_base(suite: str) -> str:
    """Return the base root for ``suite``, building it first when missing."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}: choose one of {', '.join(SUITES)}")
    suite_dir = os.path.join(CACHE_DIR, suite)
    if is_ready(suite):
        _remove_old_roots(suite_dir, root_path(suite), quiet=True)
        return root_path(suite)
    os.makedirs(suite_dir, exist_ok=True)
    with open(os.path.join(CACHE_DIR, f".{suite}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_ready(suite):
            return root_path(suite)
        _build(suite, suite_dir)
    return root_path(suite)


def _build(suite: str, suite_dir: str) -> None:
    mirror = aptsources.debootstrap_mirror()
    tmp = os.path.join(suite_dir, "root.new")
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    start = time.monotonic()
    echo(f"building the {suite} base root with debootstrap (once; about a minute)...")
    cmd = [
        "debootstrap",
        "--variant=minbase",
        "--include=" + ",".join(PACKAGES),
        f"--keyring={KEYRING}",
        suite,
        tmp,
        mirror,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log_lines = []
    last = 0.0
    assert proc.stdout is not None
    for line in proc.stdout:
        log_lines.append(line)
        now = time.monotonic()
        if line.startswith("I: ") and (now - last > 5 or "Base system installed" in line):
            echo(f"  debootstrap: {line[3:].strip()} ({now - start:.0f}s)")
            last = now
    if proc.wait() != 0:
        with open(os.path.join(suite_dir, "debootstrap.log"), "w", encoding="utf-8") as fh:
            fh.writelines(log_lines)
        raise RuntimeError(
            f"debootstrap {suite} failed (exit {proc.returncode}); log: "
            f"{os.path.join(suite_dir, 'debootstrap.log')}\n" + "".join(log_lines[-15:])
        )
    _customise(suite, tmp)
    final = root_path(suite)
    if os.path.exists(final):
        shutil.rmtree(final)
    os.rename(tmp, final)
    with open(final + ".complete", "w", encoding="utf-8") as fh:
        fh.write(stamp() + "\n")
    _remove_old_roots(suite_dir, final)
    echo(f"base root {suite} ready in {time.monotonic() - start:.0f}s: {final}")


def _write(root: str, rel: str, text: str, mode: int = 0o644) -> None:
    write_file(os.path.join(root, rel.lstrip("/")), text, mode)


def _customise(suite: str, root: str) -> None:
    # Per-host identity is written into each host's overlay at `up`.
    for name in os.listdir(os.path.join(root, "etc/ssh")):
        if name.startswith("ssh_host_"):
            os.unlink(os.path.join(root, "etc/ssh", name))
    _write(root, "/etc/machine-id", "")
    _write(root, "/etc/resolv.conf", "# maia lab: no DNS; lab hosts are in /etc/hosts, apt goes through the lab proxy\n")
    # apt: this machine's own distribution mirrors, rewritten for the suite.
    sources = aptsources.sources_for_suite(suite)
    if os.path.exists(os.path.join(root, "etc/apt/sources.list")):
        os.unlink(os.path.join(root, "etc/apt/sources.list"))
    _write(root, "/etc/apt/sources.list.d/debian.sources", aptsources.render_deb822(sources))
    settings = aptsources.apt_settings_to_copy()
    if settings:
        _write(root, "/etc/apt/apt.conf.d/50maia-lab-mirror", settings)
    _write(
        root,
        "/etc/ssh/sshd_config.d/maia-lab.conf",
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n",
    )
    for unit in MASKED_UNITS:
        link = os.path.join(root, "etc/systemd/system", unit)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink("/dev/null", link)
    # sshd must start at boot (the package's postinst enables it; make sure).
    wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants")
    os.makedirs(wants, exist_ok=True)
    ssh_unit = "/lib/systemd/system/ssh.service"
    if not os.path.lexists(os.path.join(wants, "ssh.service")):
        os.symlink(ssh_unit, os.path.join(wants, "ssh.service"))
    run(["chroot", root, "apt-get", "clean"], check=False)
