"""`maia lab`: real Debian hosts on this machine (systemd-nspawn + overlayfs + netns).

Layout of one lab (``LAB_ROOT/<name>/``, outside the repository)::

    state.json            what `up` created (written before each resource: `down` reads it)
    id_ed25519{,.pub}     the lab's SSH key (root on every host)
    known_hosts           every host's generated SSH host keys
    config/               CONFIG_FOLDER (maia-configure demo values + inventory.yaml)
    roster, master, Saltfile
    salt/                 Salt root_dir (pki, cache, logs)
    hosts/<host>/{upper,work,merged}   overlayfs over the cached base root
    disks/<host>-{0,1}.img             loop-file disks, bound into the host
    proxy/                tinyproxy config, allow list, log
    logs/<host>.log       the host's console (boot messages)

Addresses: 198.18.0.0/24 is cut into eight /27 slices, one per lab. In slice
``s`` the bridge ``mlab<s>`` has ``198.18.0.(32s+1)`` and host ``K`` has
``198.18.0.(32s+11+K)``. No IP forwarding, no NAT, no default route in the
hosts: lab traffic never leaves this machine; apt goes through the proxy on
the bridge address, which forwards only to this machine's own apt mirrors.
"""
from __future__ import annotations

import dataclasses
import fcntl
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

import yaml

from . import aptsources, base
from .util import echo, pid_alive, port_open, run, ssh_banner, wait_for

LAB_ROOT = os.environ.get("MAIA_LAB_ROOT", "/var/lib/maia-lab")
NETWORK = ipaddress.ip_network("198.18.0.0/24")
SLICE_PREFIX = 27
SLICES = 2 ** (SLICE_PREFIX - NETWORK.prefixlen)
HOST_OFFSET = 11
MAX_HOSTS = 2 ** (32 - SLICE_PREFIX) - HOST_OFFSET - 1  # 20
PROXY_PORT = 3128
DISK_SIZE = 2 * 1024 ** 3  # sparse, per disk
DISKS_PER_HOST = 2
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
BOOT_TIMEOUT = 90
# cgroup hierarchies of a hybrid (v1 + unified) layout; pure v2 is handled in Lab._cgroup_dirs
CGROUP_ROOTS = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")


# What lab hosts cannot run (no device-mapper, no nfsd, no nfs filesystem), as the
# formulas' own switches: every lab sets them in its pillar (docs/standins.md).
HOST_LIMITS = {"lvm_volumes": False, "nfs_server_start": False, "nfs_share_mount": False}


def write_lab_pillar(folder: str, name: str, data: dict) -> None:
    """Write ``<folder>/<name>.sls`` and a top.sls that lists every .sls of the folder."""
    os.makedirs(folder, exist_ok=True)
    _write(os.path.join(folder, f"{name}.sls"), yaml.safe_dump(data, sort_keys=False))
    names = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".sls") and f != "top.sls")
    _write(os.path.join(folder, "top.sls"), yaml.safe_dump({"base": {"*": names}}, sort_keys=False))


def _package_paths() -> dict:
    """Where this Python environment and the checkout live (for binds and file_roots)."""
    import maia_salt

    pkg = os.path.dirname(os.path.realpath(maia_salt.__file__))
    checkout = os.path.dirname(os.path.dirname(pkg))  # src/maia_salt -> checkout
    if not os.path.isfile(os.path.join(checkout, "setup.py")):
        checkout = ""
    return {
        "venv": os.path.realpath(sys.prefix),
        "base_python": os.path.realpath(sys.base_prefix),
        "checkout": checkout,
        "bin": os.path.dirname(os.path.abspath(sys.executable)),
    }


def require_root() -> None:
    if os.geteuid() != 0:
        raise PermissionError("maia lab needs root (it creates network namespaces, mounts and containers)")


# tool -> the Debian package that has it
TOOLS = {
    "systemd-nspawn": "systemd-container",
    "debootstrap": "debootstrap",
    "tinyproxy": "tinyproxy",
    "ip": "iproute2",
    "losetup": "mount",
    "mount": "mount",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def missing_hint(missing: list[str]) -> str:
    pkgs = sorted({TOOLS[t] for t in missing})
    return f"missing {', '.join(missing)}: apt-get install {' '.join(pkgs)}"


@dataclasses.dataclass
class Host:
    name: str
    index: int
    address: str
    netns: str
    veth: str
    machine: str
    devices: list = dataclasses.field(default_factory=list)
    pid: int | None = None


class Lab:
    """One lab, identified by its name. `Lab(name).up()`, `.down()`, `.status()`."""

    def __init__(self, name: str = "default", root: str | None = None):
        if not NAME_RE.match(name):
            raise ValueError(f"bad lab name {name!r}: lower-case letters, digits and '-', starting with a letter, at most 24")
        self.name = name
        self.dir = os.path.join(root or LAB_ROOT, name)
        self.state: dict = {}
        self.load()

    # ---------------------------------------------------------------- paths
    def path(self, *parts: str) -> str:
        return os.path.join(self.dir, *parts)

    @property
    def config_folder(self) -> str:
        return self.path("config")

    @property
    def inventory(self) -> str:
        return self.path("config", "inventory.yaml")

    @property
    def roster(self) -> str:
        return self.path("roster")

    @property
    def master_config(self) -> str:
        return self.path("master")

    @property
    def saltfile(self) -> str:
        return self.path("Saltfile")

    @property
    def key(self) -> str:
        return self.path("id_ed25519")

    @property
    def known_hosts(self) -> str:
        return self.path("known_hosts")

    @property
    def cluster_name(self) -> str:
        """CLUSTER_NAME of the lab's CONFIG_FOLDER: maia-lab, or maia-lab-<name> for other labs."""
        return "maia-lab" if self.name == "default" else f"maia-lab-{self.name}"

    @property
    def state_file(self) -> str:
        return self.path("state.json")

    # ---------------------------------------------------------------- state
    def load(self) -> None:
        try:
            with open(self.state_file, encoding="utf-8") as fh:
                self.state = json.load(fh)
        except (OSError, ValueError):
            self.state = {}

    def save(self) -> None:
        os.makedirs(self.dir, exist_ok=True)
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.state, fh, indent=2)
        os.replace(tmp, self.state_file)

    @property
    def exists(self) -> bool:
        return bool(self.state)

    @property
    def slice(self) -> int:
        return self.state["slice"]

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        return list(NETWORK.subnets(new_prefix=SLICE_PREFIX))[self.slice]

    @property
    def bridge(self) -> str:
        return f"mlab{self.slice}"

    @property
    def bridge_address(self) -> str:
        return str(self.subnet.network_address + 1)

    @property
    def proxy_url(self) -> str:
        return f"http://{self.bridge_address}:{PROXY_PORT}"

    @property
    def hosts(self) -> list[Host]:
        return [Host(**h) for h in self.state.get("hosts", [])]

    def host(self, ref: str) -> Host:
        """A host by name (maia-node-1), index (1) or address."""
        for h in self.hosts:
            if ref in (h.name, str(h.index), h.address, f"node-{h.index}"):
                return h
        raise KeyError(f"no host {ref!r} in lab {self.name}: {', '.join(h.name for h in self.hosts) or 'none'}")

    def _set_host(self, host: Host) -> None:
        hosts = [h for h in self.state.get("hosts", []) if h["name"] != host.name]
        hosts.append(dataclasses.asdict(host))
        hosts.sort(key=lambda h: h["index"])
        self.state["hosts"] = hosts
        self.save()

    # ---------------------------------------------------------------- health
    def health(self) -> dict:
        """What is running now: per host (process, sshd), proxy, master."""
        out = {"hosts": {}, "proxy": pid_alive(self.state.get("proxy_pid")), "master": None}
        for h in self.hosts:
            out["hosts"][h.name] = {
                "running": pid_alive(h.pid),
                # generous: a busy machine must not make a running lab look broken (`up` would rebuild it)
                "ssh": ssh_banner(h.address, timeout=5) if pid_alive(h.pid) else False,
            }
        if self.state.get("minions"):
            out["master"] = pid_alive(self.state.get("master_pid"))
        return out

    def is_up(self) -> bool:
        if not self.state.get("complete"):
            return False
        hl = self.health()
        ok = hl["proxy"] and all(v["running"] and v["ssh"] for v in hl["hosts"].values())
        if self.state.get("minions"):
            ok = ok and bool(hl["master"])
        return bool(ok and hl["hosts"])

    def _env(self, **extra: str) -> dict:
        """Environment of every process the lab starts: MAIA_LAB_DIR marks it as this lab's for `down`."""
        env = dict(os.environ, MAIA_LAB_DIR=self.dir)
        env.update(extra)
        return env

    # ---------------------------------------------------------------- up
    def up(
        self,
        hosts: int = 3,
        suite: str = "bookworm",
        minions: bool = False,
        standins: bool = False,
    ) -> "Lab":
        require_root()
        missing = missing_tools()
        if missing:
            raise RuntimeError("maia lab: " + missing_hint(missing))
        if not 1 <= hosts <= MAX_HOSTS:
            raise ValueError(f"--hosts must be between 1 and {MAX_HOSTS}")
        if self.exists:
            if self.is_up():
                want = (hosts, suite, minions)
                have = (len(self.hosts), self.state.get("suite"), bool(self.state.get("minions")))
                if want != have:
                    echo(
                        f"lab {self.name} is already up with hosts={have[0]} suite={have[1]} minions={have[2]}; "
                        f"nothing changed (run `maia lab down --name {self.name}` first to change it)"
                    )
                else:
                    echo(f"lab {self.name} is already up; nothing to do")
                if standins and not self.state.get("standins"):
                    self._start_standins()
                return self
            echo(f"lab {self.name} exists but is not fully up (crashed or stopped `up`?); cleaning it first")
            self.down()
        start = time.monotonic()
        base_root = base.ensure_base(suite)
        self._allocate(hosts, suite, minions)
        try:
            self._create_dirs_and_keys()
            self._network()
            self._proxy()
            self._disks()
            self._overlays(base_root)
            if minions:
                self._minion_keys()
            self._write_host_files(minions)
            self._write_salt_files()
            if standins:
                # before the master starts (it reads config the stand-ins add, e.g. pillar_roots,
                # only at start) and before the hosts boot (files put in their roots are there at boot)
                self._start_standins()
            if minions:
                self._master()  # listening before the minions boot: they connect at once
            self.state["cluster_name"] = self.cluster_name
            self.save()
            # maia-configure (a few seconds of Python start-up) runs while the hosts boot
            configure = threading.Thread(target=self._config_folder_safe, daemon=True)
            configure.start()
            self._boot()
            configure.join()
            if self._configure_error:
                raise self._configure_error
            if minions:
                self._wait_minions()
            self.state["complete"] = True
            self.state["up_seconds"] = round(time.monotonic() - start, 1)
            self.save()
        except BaseException:
            echo(f"`up` failed; the partial lab stays for inspection: `maia lab down --name {self.name}` removes it")
            raise
        echo(f"lab {self.name} up in {time.monotonic() - start:.1f}s: " + ", ".join(f"{h.name}={h.address}" for h in self.hosts))
        echo(f"lab folder: {self.dir}  (cd there: salt-ssh '*' test.ping" + ("; salt '*' test.ping" if minions else "") + ")")
        return self

    def _allocate(self, nhosts: int, suite: str, minions: bool) -> None:
        os.makedirs(os.path.dirname(self.dir), exist_ok=True)
        with open(os.path.join(os.path.dirname(self.dir), ".alloc.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            used = set()
            for other in os.listdir(os.path.dirname(self.dir)):
                if other == self.name:
                    continue
                try:
                    with open(os.path.join(os.path.dirname(self.dir), other, "state.json"), encoding="utf-8") as fh:
                        used.add(json.load(fh)["slice"])
                except (OSError, ValueError, KeyError):
                    continue
            free = [s for s in range(SLICES) if s not in used]
            # a slice whose bridge exists (left by a lab whose folder is gone) is not free either
            free = [s for s in free if not os.path.exists(f"/sys/class/net/mlab{s}")]
            if not free:
                raise RuntimeError(f"all {SLICES} lab slices of {NETWORK} are in use: `maia lab status`, then `maia lab down --name ...`")
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            self.state = {
                "name": self.name,
                "slice": free[0],
                "suite": suite,
                "minions": minions,
                "created": time.time(),
                "hosts": [],
            }
            self.save()
        subnet = self.subnet
        for k in range(nhosts):
            self._set_host(
                Host(
                    name=f"maia-node-{k}",
                    index=k,
                    address=str(subnet.network_address + HOST_OFFSET + k),
                    netns=f"maialab-{self.name}-{k}",
                    veth=f"mlab{self.slice}n{k}",
                    machine=f"maialab-{self.name}-{k}",
                )
            )

    def _create_dirs_and_keys(self) -> None:
        for sub in ("hosts", "disks", "proxy", "logs", "salt", "config"):
            os.makedirs(self.path(sub), exist_ok=True)
        os.chmod(self.path("config"), 0o700)
        if not os.path.exists(self.key):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"maia-lab-{self.name}", "-f", self.key])
        lines = []
        for h in self.hosts:
            keydir = self.path("hosts", h.name, "hostkeys")
            os.makedirs(os.path.join(keydir, "etc", "ssh"), exist_ok=True)
            run(["ssh-keygen", "-A", "-f", keydir])
            with open(os.path.join(keydir, "etc/ssh/ssh_host_ed25519_key.pub"), encoding="utf-8") as fh:
                typ, key = fh.read().split()[:2]
            lines.append(f"{h.name},{h.address} {typ} {key}\n")
        with open(self.known_hosts, "w", encoding="utf-8") as fh:
            fh.writelines(lines)

    def _network(self) -> None:
        echo(f"network: bridge {self.bridge} {self.bridge_address}/{SLICE_PREFIX}, {len(self.hosts)} netns + veth")
        self.state["bridge"] = self.bridge
        self.save()
        if not os.path.exists(f"/sys/class/net/{self.bridge}"):
            run(["ip", "link", "add", self.bridge, "type", "bridge"])
        run(["ip", "addr", "replace", f"{self.bridge_address}/{SLICE_PREFIX}", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])
        for h in self.hosts:
            if not os.path.exists(f"/run/netns/{h.netns}"):
                run(["ip", "netns", "add", h.netns])
            if not os.path.exists(f"/sys/class/net/{h.veth}"):
                run(["ip", "link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.netns])
            run(["ip", "link", "set", h.veth, "master", self.bridge, "up"])
            run(["ip", "-n", h.netns, "addr", "replace", f"{h.address}/{SLICE_PREFIX}", "dev", "eth0"])
            run(["ip", "-n", h.netns, "link", "set", "eth0", "up"])
            run(["ip", "-n", h.netns, "link", "set", "lo", "up"])

    def _proxy(self) -> None:
        hosts = aptsources.mirror_hosts()
        if not hosts:
            raise RuntimeError("this machine's apt configuration names no http(s) mirror; the lab proxy would allow nothing")
        pdir = self.path("proxy")
        with open(os.path.join(pdir, "allow"), "w", encoding="utf-8") as fh:
            for name in hosts:
                fh.write("^" + re.escape(name) + "$\n")
        conf = os.path.join(pdir, "tinyproxy.conf")
        with open(conf, "w", encoding="utf-8") as fh:
            fh.write(
                "# maia lab proxy: forwards only to this machine's apt mirrors\n"
                "User nobody\nGroup nogroup\n"
                f"Port {PROXY_PORT}\nListen {self.bridge_address}\n"
                "Timeout 600\nMaxClients 100\n"
                "LogLevel Connect\n"  # logs go to stdout.log (-d)
                f"Allow {self.subnet}\n"
                "DisableViaHeader Yes\n"
                f'Filter "{pdir}/allow"\nFilterURLs Off\nFilterType ere\n'
                "FilterCaseSensitive No\nFilterDefaultDeny Yes\n"
                "ConnectPort 443\n"
            )
        echo(f"apt proxy on {self.proxy_url} for: {', '.join(hosts)}")
        out = open(os.path.join(pdir, "stdout.log"), "ab")
        proc = subprocess.Popen(
            ["tinyproxy", "-d", "-c", conf], stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            env=self._env(),
        )
        self.state["proxy_pid"] = proc.pid
        self.save()
        wait_for(lambda: port_open(self.bridge_address, PROXY_PORT) or proc.poll() is not None, 10, what="tinyproxy")
        if proc.poll() is not None:
            raise RuntimeError(f"tinyproxy exited ({proc.returncode}); see {pdir}/stdout.log")

    def _disks(self) -> None:
        for h in self.hosts:
            devices = []
            for d in range(DISKS_PER_HOST):
                img = self.path("disks", f"{h.name}-{d}.img")
                with open(img, "ab") as fh:
                    fh.truncate(DISK_SIZE)
                dev = run(["losetup", "--find", "--show", img]).stdout.strip()
                devices.append(dev)
                h.devices = devices
                self._set_host(h)
        echo("disks: " + "; ".join(f"{h.name} {' '.join(h.devices)}" for h in self.hosts))

    def _overlays(self, base_root: str) -> None:
        self.state["base_root"] = base_root
        self.save()
        for h in self.hosts:
            hd = self.path("hosts", h.name)
            for sub in ("upper", "work", "merged"):
                os.makedirs(os.path.join(hd, sub), exist_ok=True)
            merged = os.path.join(hd, "merged")
            if not os.path.ismount(merged):
                run([
                    "mount", "-t", "overlay", f"maialab-{self.name}", "-o",
                    f"lowerdir={base_root},upperdir={hd}/upper,workdir={hd}/work", merged,
                ])

    def _minion_keys(self) -> None:
        import salt.crypt

        pki = self.path("salt", "pki", "master")
        os.makedirs(os.path.join(pki, "minions"), exist_ok=True)
        os.chmod(pki, 0o700)
        if not os.path.exists(os.path.join(pki, "master.pem")):
            priv, pub = salt.crypt.gen_keys(2048)
            _write(os.path.join(pki, "master.pem"), priv, 0o600)
            _write(os.path.join(pki, "master.pub"), pub, 0o644)
        for h in self.hosts:
            kdir = self.path("hosts", h.name, "minionkeys")
            os.makedirs(kdir, exist_ok=True)
            priv, pub = salt.crypt.gen_keys(2048)
            _write(os.path.join(kdir, "minion.pem"), priv, 0o600)
            _write(os.path.join(kdir, "minion.pub"), pub, 0o644)
            # pre-accepted: only this lab's hosts hold these keys
            _write(os.path.join(pki, "minions", h.name), pub, 0o644)

    def _write_host_files(self, minions: bool) -> None:
        etc_hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        etc_hosts += f"{self.bridge_address}\tmaia-lab-bridge salt\n"
        etc_hosts += "".join(f"{h.address}\t{h.name}\n" for h in self.hosts)
        with open(self.key + ".pub", encoding="utf-8") as fh:
            pubkey = fh.read()
        paths = _package_paths()
        for h in self.hosts:
            root = self.path("hosts", h.name, "merged")
            _write(os.path.join(root, "etc/hostname"), h.name + "\n")
            # a lab host is thrown away at `down`: do not wait long for units that linger
            _write(os.path.join(root, "etc/systemd/system.conf.d/maia-lab.conf"), "[Manager]\nDefaultTimeoutStopSec=3s\n")
            _write(os.path.join(root, "etc/hosts"), etc_hosts)
            _write(os.path.join(root, "etc/machine-id"), uuid.uuid4().hex + "\n", 0o444)
            os.makedirs(os.path.join(root, "root/.ssh"), mode=0o700, exist_ok=True)
            _write(os.path.join(root, "root/.ssh/authorized_keys"), pubkey, 0o600)
            keydir = self.path("hosts", h.name, "hostkeys", "etc", "ssh")
            for f in os.listdir(keydir):
                shutil.copy2(os.path.join(keydir, f), os.path.join(root, "etc/ssh", f))
            _write(
                os.path.join(root, "etc/apt/apt.conf.d/01maia-lab-proxy"),
                f'Acquire::http::Proxy "{self.proxy_url}";\nAcquire::https::Proxy "{self.proxy_url}";\n',
            )
            if minions:
                self._write_minion_files(h, root, paths)

    def _write_minion_files(self, h: Host, root: str, paths: dict) -> None:
        kdir = self.path("hosts", h.name, "minionkeys")
        mpki = os.path.join(root, "etc/salt/pki/minion")
        os.makedirs(mpki, mode=0o700, exist_ok=True)
        shutil.copy2(os.path.join(kdir, "minion.pem"), os.path.join(mpki, "minion.pem"))
        shutil.copy2(os.path.join(kdir, "minion.pub"), os.path.join(mpki, "minion.pub"))
        shutil.copy2(self.path("salt", "pki", "master", "master.pub"), os.path.join(mpki, "minion_master.pub"))
        _write(
            os.path.join(root, "etc/salt/minion.d/maia-lab.conf"),
            yaml.safe_dump({"master": self.bridge_address, "id": h.name, "acceptance_wait_time": 1, "log_level_logfile": "info"}),
        )
        _write(
            os.path.join(root, "etc/systemd/system/salt-minion.service"),
            "[Unit]\nDescription=Salt minion (maia lab; Salt from the lab machine's Python, bound read-only)\n"
            "After=network.target\n\n[Service]\n"
            f"ExecStart={paths['bin']}/salt-minion -c /etc/salt\n"
            "Restart=on-failure\nRestartSec=2\nKillMode=mixed\nTimeoutStopSec=1\n\n[Install]\nWantedBy=multi-user.target\n",
        )
        wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants")
        os.makedirs(wants, exist_ok=True)
        link = os.path.join(wants, "salt-minion.service")
        if not os.path.lexists(link):
            os.symlink("/etc/systemd/system/salt-minion.service", link)

    def _bind_ro_paths(self) -> list[str]:
        """What a minion needs from this machine: the checkout, the venv and the Python it was made from."""
        paths = _package_paths()
        pythons = [paths["base_python"]]
        if paths["base_python"] in ("/", "/usr"):
            # the distribution's Python: the host must have the very same interpreter
            exe = os.path.realpath(sys.executable)
            in_host = os.path.join(self.state.get("base_root", "/nonexistent"), exe.lstrip("/"))
            if not os.path.exists(in_host):
                raise RuntimeError(
                    f"--minions runs Salt from this machine's Python ({exe}), which the {self.state.get('suite')} "
                    "hosts do not have; use a Python installed in its own prefix (pyenv, /opt, /usr/local) "
                    "for the virtualenv, or hosts of this machine's Debian release"
                )
            pythons = []
        binds: list[str] = []
        for p in (paths["checkout"], paths["venv"], *pythons):
            if p and not any(p == b or p.startswith(b + "/") for b in binds):
                binds.append(p)
        return binds

    def _boot(self) -> None:
        binds = self._bind_ro_paths() if self.state.get("minions") else []
        echo(f"booting {len(self.hosts)} host(s) with systemd-nspawn...")
        t0 = time.monotonic()
        for h in self.hosts:
            cmd = [
                "systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
                f"--directory={self.path('hosts', h.name, 'merged')}",
                f"--machine={h.machine}", f"--hostname={h.name}",
                f"--network-namespace-path=/run/netns/{h.netns}",
                "--capability=CAP_NET_ADMIN",
                "--resolv-conf=off", "--timezone=off", "--link-journal=no",
                "--console=read-only",
            ]
            for dev in h.devices:
                cmd.append(f"--bind={dev}")
            for b in binds:
                cmd.append(f"--bind-ro={b}")
            log = open(self.path("logs", f"{h.name}.log"), "ab")
            # no image lock files in /run/systemd/nspawn/locks: the lab's state file is the lock
            env = self._env(SYSTEMD_NSPAWN_LOCK="0")
            # Each host in its own cgroup: with --keep-unit nspawn puts the container in
            # <its cgroup>/payload, so hosts started from one cgroup would share their
            # cgroup tree and race on it (units failing with 219/CGROUP at boot).
            cg = self._cgroup_dirs(h.name)
            for d in cg:
                os.makedirs(d, exist_ok=True)
            enter = "".join(f'echo $$ > "{d}/cgroup.procs" 2>/dev/null; ' for d in cg)
            proc = subprocess.Popen(
                ["/bin/sh", "-c", enter + 'exec "$@"', "sh", *cmd],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env,
            )
            h.pid = proc.pid
            self._set_host(h)
        for h in self.hosts:
            try:
                wait_for(lambda: ssh_banner(h.address) or not pid_alive(h.pid), BOOT_TIMEOUT, 0.1, f"sshd on {h.name}")
            except TimeoutError:
                raise RuntimeError(f"{h.name} did not start sshd in {BOOT_TIMEOUT}s; console: {self.path('logs', h.name + '.log')}")
            if not pid_alive(h.pid):
                raise RuntimeError(f"{h.name}: systemd-nspawn exited; console: {self.path('logs', h.name + '.log')}")
        echo(f"hosts answer on ssh after {time.monotonic() - t0:.1f}s")

    def _cgroup_dirs(self, host: str | None = None) -> list[str]:
        """This lab's (or one host's) cgroup in each writable hierarchy nspawn uses."""
        roots = [r for r in CGROUP_ROOTS if os.path.isfile(os.path.join(r, "cgroup.procs")) and os.access(r, os.W_OK)]
        if not roots and os.path.isfile("/sys/fs/cgroup/cgroup.controllers") and os.access("/sys/fs/cgroup", os.W_OK):
            roots = ["/sys/fs/cgroup"]  # pure cgroup v2
        return [os.path.join(r, "maia-lab", self.name, *([host] if host else [])) for r in roots]

    def _write_salt_files(self) -> None:
        paths = _package_paths()
        roots = []
        if paths["checkout"]:
            # formulas/ is the one file root: it links in _modules, _states, _grains and orch
            roots = [os.path.join(paths["checkout"], "formulas")]
        salt_root = self.path("salt")
        master = {
            "root_dir": salt_root,
            "pki_dir": os.path.join(salt_root, "pki", "master"),
            "cachedir": os.path.join(salt_root, "cache"),
            "sock_dir": os.path.join(salt_root, "run"),
            "pidfile": os.path.join(salt_root, "run", "salt-master.pid"),
            "log_file": os.path.join(salt_root, "log", "master"),
            "key_logfile": os.path.join(salt_root, "log", "key"),
            "ssh_log_file": os.path.join(salt_root, "log", "ssh"),
            "user": "root",
            "interface": self.bridge_address,
            "file_roots": {"base": roots},
            "file_ignore_regex": [r"(^|/)__pycache__(/|$)", r"\.pyc$"],
            # the lab's loop-device VGs (all named MAIA_Storage) are visible to this machine's LVM, which
            # makes the lvm grain slow (seconds per salt-run); the master never needs its own LVM grains
            "disable_grains": ["lvm"],
            "ext_pillar": [{"maia": {"config_folder": self.config_folder}}],
            # the lab's own pillar (HOST_LIMITS, the stand-ins' settings): see _write_lab_pillar
            "pillar_roots": {"base": [self.path("pillar")]},
            "roster_file": self.roster,
            "known_hosts_file": self.known_hosts,
            "ssh_priv": self.key,
            "ssh_timeout": 30,
            "worker_threads": 2,
            "open_mode": False,
            "auto_accept": False,
        }
        for sub in ("cache/proc", "run", "log"):  # salt-run needs them even when no master runs
            os.makedirs(os.path.join(salt_root, sub), exist_ok=True)
        _write(self.master_config, "# written by `maia lab up`\n" + yaml.safe_dump(master, sort_keys=False))
        write_lab_pillar(self.path("pillar"), "lab", {"maia": {"prepare": dict(HOST_LIMITS)}})
        saltfile = {tool: {"config_dir": self.dir} for tool in ("salt", "salt-ssh", "salt-key", "salt-run", "salt-cp")}
        saltfile["salt-ssh"]["roster_file"] = self.roster
        _write(self.saltfile, yaml.safe_dump(saltfile, sort_keys=False))
        # inventory.yaml (format in docs/configuration.md)
        inv = {"hosts": {}}
        for h in self.hosts:
            inv["hosts"][h.name] = {
                "address": h.address,
                "user": "root",
                "port": 22,
                "sudo": False,
                "groups": ["control-plane", "nfs_server"] if h.index == 0 else ["nfs_clients"],
                # the NFS server has two volumes in one VG: the local one takes half, NFS the rest
                "vars": {
                    "device_list": list(h.devices),
                    "local_storage_size": "50%FREE" if h.index == 0 else "100%FREE",
                    "nfs_storage_size": "100%FREE",
                },
            }
        os.makedirs(self.config_folder, mode=0o700, exist_ok=True)
        _write(self.inventory, yaml.safe_dump(inv, sort_keys=False))
        _write(self.roster, yaml.safe_dump(self._roster(), sort_keys=False), 0o600)

    def _roster(self) -> dict:
        from maia_salt.inventory import load_inventory

        return load_inventory(self.inventory).to_roster(priv=self.key)

    _configure_error: BaseException | None = None

    def _config_folder_safe(self) -> None:
        try:
            self._config_folder()
        except BaseException as exc:  # re-raised by `up` in the main thread
            self._configure_error = exc

    def _config_folder(self) -> None:
        env = self._env()
        env.update(
            CLUSTER_DOMAIN="maia.lab.test",
            CLUSTER_NAME=self.cluster_name,
            CONFIG_FOLDER=self.config_folder,
            INGRESS_RESOLVER_EMAIL="admin@maia.lab.test",
            K8S_DISTRIBUTION="microk8s",
            MAIA_PRIVATE_REGISTRY="",
        )
        tool = os.path.join(_package_paths()["bin"], "maia-configure")
        echo("CONFIG_FOLDER: maia-configure --non-interactive --cifs-key yes (demo values)")
        proc = run([tool, "--non-interactive", "--cifs-key", "yes"], env=env, check=False, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise RuntimeError(f"maia-configure failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def _master(self) -> None:
        os.makedirs(self.path("salt", "run"), exist_ok=True)
        os.makedirs(self.path("salt", "log"), exist_ok=True)
        echo(f"salt-master on {self.bridge_address}")
        out = open(self.path("logs", "salt-master.log"), "ab")
        proc = subprocess.Popen(
            [os.path.join(_package_paths()["bin"], "salt-master"), "-c", self.dir, "-l", "warning"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, cwd=self.dir, env=self._env(),
        )
        self.state["master_pid"] = proc.pid
        self.save()

    def _wait_minions(self, timeout: float = 90) -> None:
        echo("waiting for every minion to answer test.ping...")
        t0 = time.monotonic()
        want = {h.name for h in self.hosts}
        seen: set = set()
        deadline = time.monotonic() + timeout

        def ready(h: Host) -> bool:
            # the minion's own log, read through the host's overlay (cheaper than asking Salt)
            try:
                with open(self.path("hosts", h.name, "merged", "var/log/salt/minion"), "rb") as fh:
                    return b"Minion is ready to receive requests" in fh.read()
            except OSError:
                return False

        while time.monotonic() < deadline and not all(ready(h) for h in self.hosts):
            if not pid_alive(self.state.get("master_pid")):
                raise RuntimeError(f"salt-master exited; see {self.path('logs', 'salt-master.log')}")
            time.sleep(0.2)
        while time.monotonic() < deadline:
            if not pid_alive(self.state.get("master_pid")):
                raise RuntimeError(f"salt-master exited; see {self.path('logs', 'salt-master.log')}")
            proc = self.salt("*", "test.ping", "--out=json", "--static", "-t", "5", check=False)
            try:
                seen = {k for k, v in json.loads(proc.stdout or "{}").items() if v is True}
            except ValueError:
                seen = set()
            if want <= seen:
                echo(f"all {len(want)} minions answer ({time.monotonic() - t0:.1f}s)")
                return
            time.sleep(1)
        raise RuntimeError(f"minions not answering after {timeout:.0f}s: {sorted(want - seen)}")

    def _start_standins(self) -> None:
        from .standins import start_standins

        with open(self.master_config, "rb") as fh:
            before = fh.read()
        self.state["standins"] = True  # recorded first: `down` then calls stop_standins
        self.save()
        start_standins(self)
        self.load()  # the stand-ins may have recorded pids in state.json
        self.state["standins"] = True
        self.save()
        with open(self.master_config, "rb") as fh:
            changed = fh.read() != before
        if changed and self.state.get("minions") and pid_alive(self.state.get("master_pid")):
            # a running master reads its config only at start (e.g. pillar_roots added by the stand-ins)
            echo("master config changed by the stand-ins: restarting the salt-master")
            self.restart_master()

    def restart_master(self) -> None:
        """Restart the lab's salt-master (minion mode), e.g. after its config file changed."""
        pid = self.state.get("master_pid")
        if pid_alive(pid) and self._ours(pid):
            _signal_group(pid, signal.SIGTERM)
            try:
                wait_for(lambda: not pid_alive(pid), 10, what="salt-master to stop")
            except TimeoutError:
                _signal_group(pid, signal.SIGKILL)
            _reap([pid])
        self._master()
        self._wait_minions()
        self.salt("*", "saltutil.refresh_pillar", "--static", "-t", "30", check=False)

    # ---------------------------------------------------------------- use
    def ssh_command(self, ref: str, *cmd: str, tty: bool = False) -> list[str]:
        h = self.host(ref)
        args = [
            "ssh", "-i", self.key,
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
        ]
        if tty:
            args.append("-t")
        args.append(f"root@{h.address}")
        args.extend(cmd)
        return args

    def ssh(self, ref: str, cmd: str, check: bool = True, timeout: float | None = 300) -> subprocess.CompletedProcess:
        """Run ``cmd`` (a shell string) on a host as root; returns the CompletedProcess."""
        return run(self.ssh_command(ref, cmd), check=check, timeout=timeout)

    def salt(self, *args: str, check: bool = True, timeout: float | None = 600) -> subprocess.CompletedProcess:
        """`salt -c LABDIR ARGS` (minion mode)."""
        return run([os.path.join(_package_paths()["bin"], "salt"), "-c", self.dir, *args], check=check, cwd=self.dir, timeout=timeout)

    def salt_ssh(self, *args: str, check: bool = True, timeout: float | None = 900) -> subprocess.CompletedProcess:
        """`salt-ssh ARGS` run from the lab folder (its Saltfile supplies every option)."""
        return run([os.path.join(_package_paths()["bin"], "salt-ssh"), *args], check=check, cwd=self.dir, timeout=timeout)

    # ---------------------------------------------------------------- status
    def status(self) -> dict:
        hl = self.health() if self.exists else {"hosts": {}}
        return {
            "name": self.name,
            "folder": self.dir,
            "up": self.is_up() if self.exists else False,
            "suite": self.state.get("suite"),
            "bridge": f"{self.bridge} {self.bridge_address}" if self.exists else None,
            "proxy": (self.proxy_url if hl.get("proxy") else "down") if self.exists else None,
            "minions": bool(self.state.get("minions")),
            "master": hl.get("master"),
            "config_folder": self.config_folder,
            "hosts": [
                {
                    "name": h.name,
                    "address": h.address,
                    "devices": h.devices,
                    "running": hl["hosts"].get(h.name, {}).get("running", False),
                    "ssh": hl["hosts"].get(h.name, {}).get("ssh", False),
                }
                for h in self.hosts
            ],
        }

    # ---------------------------------------------------------------- down
    def down(self, timeout: float = 3) -> None:
        """Stop and remove everything this lab made; safe after a crashed `up` and when repeated."""
        require_root()
        t0 = time.monotonic()
        if self.state.get("standins"):
            try:
                from .standins import stop_standins

                stop_standins(self)
            except Exception as exc:  # keep cleaning
                echo(f"stop_standins failed: {exc}")
        # 1. processes we started (recorded pids; each leads its own session)
        pids = [self.state.get("master_pid"), self.state.get("proxy_pid")] + [h.pid for h in self.hosts]
        pids = [p for p in pids if pid_alive(p) and self._ours(p)]
        for p in pids:
            _signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
            time.sleep(0.05)
        for p in pids:
            if pid_alive(p):
                _signal_group(p, signal.SIGKILL)
        _reap(pids)
        # 2. anything left running in the lab's netns or inside a host root (crashed `up`)
        netns = self._netns_names()
        stray = set()
        for ns in netns:
            out = run(["ip", "netns", "pids", ns], check=False).stdout.split()
            stray.update(int(p) for p in out if p.isdigit())
        stray.update(self._pids_using_dir())
        stray.update(self._pids_in_cgroups())
        stray.discard(os.getpid())
        for p in stray:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if stray:
            wait_for(lambda: not any(pid_alive(p) for p in stray), 10, what="lab processes to exit")
        self._remove_cgroups()
        # 3. mounts under the lab folder (deepest first)
        for mnt in sorted(self._mounts(), key=len, reverse=True):
            if run(["umount", mnt], check=False).returncode != 0:
                run(["umount", "-l", mnt], check=False)
        # nspawn leaves an empty mount-propagation folder per machine when /run is not a tmpfs
        propagate = "/run/systemd/nspawn/propagate"
        if os.path.isdir(propagate):
            for entry in os.listdir(propagate):
                if re.fullmatch(rf"maialab-{re.escape(self.name)}-\d+", entry):
                    shutil.rmtree(os.path.join(propagate, entry), ignore_errors=True)
        # 4. network
        for ns in netns:
            run(["ip", "netns", "del", ns], check=False)
        if "slice" in self.state:
            prefix = f"mlab{self.slice}"
            for link in os.listdir("/sys/class/net"):
                if link == prefix or re.fullmatch(prefix + r"n\d+", link):
                    run(["ip", "link", "del", link], check=False)
        # 5. loop devices backed by the lab's disk files
        for dev in self._loop_devices():
            run(["losetup", "-d", dev], check=False)
        # 6. the lab folder
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)
        self.state = {}
        echo(f"lab {self.name} down ({time.monotonic() - t0:.1f}s)")

    def _ours(self, pid: int) -> bool:
        """A recorded pid may have been reused: only signal it when its command line names the lab."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        return self._names_dir(cmd)

    def _names_dir(self, cmd: str) -> bool:
        """True when a command line names the lab folder or a path inside it (not /lab-other)."""
        return re.search(re.escape(self.dir) + r"(/|\s|$)", cmd) is not None

    def _netns_names(self) -> list[str]:
        names = set(h.netns for h in self.hosts)
        try:
            for ns in os.listdir("/run/netns"):
                if re.fullmatch(rf"maialab-{re.escape(self.name)}-\d+", ns):
                    names.add(ns)
        except OSError:
            pass
        return sorted(n for n in names if os.path.exists(f"/run/netns/{n}"))

    def _pids_using_dir(self) -> set[int]:
        """Processes whose root is inside the lab folder, whose command line names it, or that
        the lab started (MAIA_LAB_DIR in their environment, e.g. maia-configure)."""
        found = set()
        me = os.getpid()
        marker = f"MAIA_LAB_DIR={self.dir}\0".encode()
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                root = os.readlink(f"/proc/{entry}/root")
                if root.startswith(self.dir + "/"):
                    found.add(int(entry))
                    continue
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if self._names_dir(fh.read().replace(b"\0", b" ").decode(errors="replace")):
                        found.add(int(entry))
                        continue
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if marker in fh.read() + b"\0":
                        found.add(int(entry))
            except OSError:
                continue
        return found

    def _pids_in_cgroups(self) -> set[int]:
        found = set()
        for top in self._cgroup_dirs():
            for root, _dirs, files in os.walk(top):
                if "cgroup.procs" in files:
                    try:
                        with open(os.path.join(root, "cgroup.procs"), encoding="utf-8") as fh:
                            found.update(int(p) for p in fh.read().split())
                    except OSError:
                        pass
        found.discard(os.getpid())
        return found

    def _remove_cgroups(self) -> None:
        """rmdir the lab's cgroups bottom-up (cgroupfs folders go with rmdir only, once empty)."""
        for top in self._cgroup_dirs():
            if not os.path.isdir(top):
                continue
            for root, _dirs, _files in os.walk(top, topdown=False):
                for _ in range(20):
                    try:
                        os.rmdir(root)
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.05)  # a process may still be leaving it
            parent = os.path.dirname(top)
            try:
                os.rmdir(parent)  # .../maia-lab, when no other lab uses it
            except OSError:
                pass

    def _mounts(self) -> list[str]:
        out = []
        with open("/proc/mounts", encoding="utf-8") as fh:
            for line in fh:
                mnt = line.split()[1].encode().decode("unicode_escape")
                if mnt.startswith(self.dir + "/"):
                    out.append(mnt)
        return out

    def _loop_devices(self) -> list[str]:
        out = []
        listing = run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"], check=False).stdout
        for line in listing.splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[1].strip().replace(" (deleted)", "").startswith(self.dir + "/"):
                out.append(parts[0])
        return out


def _reap(pids) -> None:
    """Collect exit statuses of our own children (when `up` ran in this process) so no zombie stays."""
    for p in pids:
        try:
            os.waitpid(p, os.WNOHANG)
        except (ChildProcessError, OSError):
            pass


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _write(path: str, text: str, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, mode)


def all_labs(root: str | None = None) -> list[Lab]:
    root = root or LAB_ROOT
    try:
        names = sorted(n for n in os.listdir(root) if NAME_RE.match(n) and os.path.isdir(os.path.join(root, n)))
    except OSError:
        return []
    return [Lab(n, root) for n in names]
