"""`maia lab`: real Debian hosts on this machine (systemd-nspawn + overlayfs + netns).

``Lab`` is the facade: it holds the lab's name, folder and recorded state and
runs `up`, `status`, `restart_host` and `down` by calling one module per concern (docs/lab.md):

    network      addresses (one /27 slice per lab), bridge, netns, veths
    proxy        the apt proxy (tinyproxy) on the bridge
    disks        loop-file disks of each host
    hosts        overlay roots, identity files, boot and shutdown with systemd-nspawn, cgroups
    minions      salt-master and salt-minions (``--minions``)
    saltconfig   master config, Saltfile, the lab's pillar
    configfolder CONFIG_FOLDER, inventory.yaml and roster (through the product's own code)
    standins     the stand-ins (``--standins``)
    teardown     `down`

Layout of one lab (``LAB_ROOT/<name>/``, outside the repository)::

    state.json            what `up` created (written before each resource: `down` reads it)
    id_ed25519{,.pub}     the lab's SSH key (root on every host)
    known_hosts           every host's generated SSH host keys
    config/               CONFIG_FOLDER (maia-configure demo values + inventory.yaml)
    roster, master, Saltfile
    pillar/               the lab's own pillar (lab.sls, standins.sls)
    salt/                 Salt root_dir (pki, cache, logs)
    hosts/<host>/{upper,work,merged}   overlayfs over the cached base root
    disks/<host>-{0,1}.img             loop-file disks, bound into the host
    proxy/                tinyproxy config, allow list, log
    logs/<host>.log       the host's console (boot messages)
"""
from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import subprocess
import time

from . import base, configfolder, disks, network, proxy, saltconfig, teardown
# imported under other names: `up` has keyword arguments called hosts, minions and standins
from . import hosts as lab_hosts
from . import minions as lab_minions
from . import standins as lab_standins
from .folder import LabFolder
from .hosts import Host
from .network import MAX_HOSTS
from .requirements import missing_hint, missing_tools, require_root
from .saltconfig import HOST_LIMITS, write_lab_pillar
from .util import Background, echo, pid_alive, run, ssh_banner, stop_processes, tool

__all__ = ["HOST_LIMITS", "LAB_ROOT", "MAX_HOSTS", "Host", "Lab", "all_labs", "write_lab_pillar"]

LAB_ROOT = os.environ.get("MAIA_LAB_ROOT", "/var/lib/maia-lab")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
FOLDERS = ("hosts", "disks", "proxy", "logs", "salt", "config")


class LabPath:
    """A path of the lab's ``LabFolder``, as a read-only attribute of ``Lab``."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, lab, owner=None):
        return self if lab is None else getattr(lab.folder, self.name)


class Lab:
    """One lab, identified by its name. `Lab(name).up()`, `.down()`, `.status()`."""

    config_folder = LabPath()
    inventory = LabPath()
    roster = LabPath()
    master_config = LabPath()
    saltfile = LabPath()
    key = LabPath()
    known_hosts = LabPath()
    state_file = LabPath()

    def __init__(self, name: str = "default", root: str | None = None):
        if not NAME_RE.match(name):
            raise ValueError(f"bad lab name {name!r}: lower-case letters, digits and '-', starting with a letter, at most 24")
        self.name = name
        self.dir = os.path.join(root or LAB_ROOT, name)
        self.folder = LabFolder(self.dir)
        self.state: dict = {}
        self.load()

    def path(self, *parts: str) -> str:
        return self.folder.path(*parts)

    @property
    def cluster_name(self) -> str:
        """CLUSTER_NAME of the lab's CONFIG_FOLDER: maia-lab, or maia-lab-<name> for other labs."""
        return "maia-lab" if self.name == "default" else f"maia-lab-{self.name}"

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
        return network.subnet(self.slice)

    @property
    def bridge(self) -> str:
        return network.bridge_name(self.slice)

    @property
    def bridge_address(self) -> str:
        return network.bridge_address(self.slice)

    @property
    def proxy_url(self) -> str:
        return proxy.url(self.bridge_address)

    @property
    def hosts(self) -> list[Host]:
        return [Host(**h) for h in self.state.get("hosts", [])]

    def host(self, ref: str) -> Host:
        """A host by name (maia-node-1), index (1) or address."""
        for h in self.hosts:
            if ref in (h.name, str(h.index), h.address, f"node-{h.index}"):
                return h
        raise KeyError(f"no host {ref!r} in lab {self.name}: {', '.join(h.name for h in self.hosts) or 'none'}")

    def record_host(self, host: Host) -> None:
        """Put ``host`` (new or changed) into state.json."""
        others = [h for h in self.state.get("hosts", []) if h["name"] != host.name]
        self.state["hosts"] = sorted(others + [dataclasses.asdict(host)], key=lambda h: h["index"])
        self.save()

    def env(self, **extra: str) -> dict:
        """Environment of every process the lab starts: MAIA_LAB_DIR marks it as this lab's for `down`."""
        return dict(os.environ, MAIA_LAB_DIR=self.dir, **extra)

    def owns(self, pid: int) -> bool:
        """True when the process ``pid`` is this lab's (its command line names the lab folder)."""
        return teardown.owns(self.dir, pid)

    def cgroup_dirs(self, host: str | None = None) -> list[str]:
        """This lab's (or one host's) cgroup in each writable hierarchy."""
        return lab_hosts.cgroup_dirs(self.name, host)

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

    # ---------------------------------------------------------------- up
    def up(self, hosts: int = 3, suite: str = "bookworm", minions: bool = False, standins: bool = False,
           workers: int = 0) -> "Lab":
        """``workers``: maia-node-1 .. maia-node-<workers> are also in the inventory's group `workers`."""
        require_root()
        missing = missing_tools()
        if missing:
            raise RuntimeError("maia lab: " + missing_hint(missing))
        if not 1 <= hosts <= MAX_HOSTS:
            raise ValueError(f"--hosts must be between 1 and {MAX_HOSTS}")
        if not 0 <= workers < hosts:
            raise ValueError(f"--workers must be between 0 and {hosts - 1} (maia-node-0 is the control plane)")
        if self.exists:
            if self.is_up():
                self._already_up(hosts, suite, minions, standins, workers)
                return self
            echo(f"lab {self.name} exists but is not fully up (crashed or stopped `up`?); cleaning it first")
            self.down()
        start = time.monotonic()
        base_root = base.ensure_base(suite)
        self._allocate(hosts, suite, minions, workers)
        try:
            self._build(base_root, minions, standins)
            self.state["complete"] = True
            self.state["up_seconds"] = round(time.monotonic() - start, 1)
            self.save()
        except BaseException:
            echo(f"`up` failed; the partial lab stays for inspection: `maia lab down --name {self.name}` removes it")
            raise
        echo(f"lab {self.name} up in {time.monotonic() - start:.1f}s: " + ", ".join(f"{h.name}={h.address}" for h in self.hosts))
        echo(f"lab folder: {self.dir}  (cd there: salt-ssh '*' test.ping" + ("; salt '*' test.ping" if minions else "") + ")")
        return self

    def _already_up(self, hosts: int, suite: str, minions: bool, standins: bool, workers: int) -> None:
        have = (len(self.hosts), self.state.get("suite"), bool(self.state.get("minions")), self.state.get("workers", 0))
        if (hosts, suite, minions, workers) != have:
            echo(
                f"lab {self.name} is already up with hosts={have[0]} suite={have[1]} minions={have[2]} workers={have[3]}; "
                f"nothing changed (run `maia lab down --name {self.name}` first to change it)"
            )
        else:
            echo(f"lab {self.name} is already up; nothing to do")
        if standins and not self.state.get("standins"):
            self._start_standins()

    def _allocate(self, nhosts: int, suite: str, minions: bool, workers: int) -> None:
        """A free network slice (state.json names it before the shared lock is let go), and the hosts in it."""

        def record(slice_: int) -> None:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            self.state = {"name": self.name, "slice": slice_, "suite": suite, "minions": minions,
                          "workers": workers, "created": time.time(), "hosts": []}
            self.save()

        slice_ = network.claim_slice(os.path.dirname(self.dir), self.name, record)
        for host in network.plan_hosts(self.name, slice_, nhosts):
            self.record_host(host)

    def _record(self, **values) -> None:
        """Write values into state.json before the resource they name is made (`down` reads it)."""
        self.state.update(values)
        self.save()

    def _build(self, base_root: str, with_minions: bool, with_standins: bool) -> None:
        """Every piece of a lab, in order; each records itself in state.json before it is made."""
        for sub in FOLDERS:
            os.makedirs(self.path(sub), exist_ok=True)
        os.chmod(self.config_folder, 0o700)
        lab_hosts.make_keys(self.folder, self.name, self.hosts)
        self._record(bridge=self.bridge)
        network.create(self.bridge, self.bridge_address, self.hosts)
        tinyproxy = proxy.start(self.path("proxy"), self.bridge_address, str(self.subnet), self.env())
        self._record(proxy_pid=tinyproxy.pid)
        proxy.wait_listening(tinyproxy, self.bridge_address, self.path("proxy"))
        disks.attach(self.folder, self.hosts, self.record_host)
        self._record(base_root=base_root)
        lab_hosts.mount_overlays(self.folder, self.name, base_root, self.hosts)
        lab_hosts.write_identity(self.folder, self.hosts, self.bridge_address, self.proxy_url)
        if with_minions:
            lab_minions.make_keys(self.folder, self.hosts)
            lab_minions.write_host_files(self.folder, self.hosts, self.bridge_address)
        saltconfig.write(self.folder, self.bridge_address)
        configfolder.write_inventory_and_roster(self.folder, self.hosts, self.state.get("workers", 0))
        if with_standins:
            # before the master starts (it reads config the stand-ins add only at start)
            # and before the hosts boot (files put in their roots are there at boot)
            self._start_standins()
        if with_minions:
            self._start_master()  # listening before the minions boot: they connect at once
        self.state["cluster_name"] = self.cluster_name
        self.save()
        # maia-configure (a few seconds of Python start-up) runs while the hosts boot
        configure = Background(configfolder.write_config_folder, self.folder, self.cluster_name, self.env())
        lab_hosts.boot(self.folder, self.name, self.hosts, self._binds(), self.env(), self.record_host)
        configure.result()
        if with_minions:
            lab_minions.wait(self.folder, self.hosts, self.state.get("master_pid"))

    def _binds(self) -> list[str]:
        """This machine's folders every host gets read-only (minion mode: Salt's Python)."""
        if not self.state.get("minions"):
            return []
        return lab_minions.bind_ro_paths(self.state.get("base_root"), self.state.get("suite"))

    # ---------------------------------------------------------------- one host
    def stop_host(self, ref: str, timeout: float = 30) -> Host:
        """Shut one host down in order, as a halt does (its units stop); its root, disks and
        network namespace stay, so `start_host` boots the same host again."""
        require_root()
        h = self.host(ref)
        if pid_alive(h.pid) and self.owns(h.pid):
            lab_hosts.shut_down(self.name, h, timeout)
        return h

    def start_host(self, ref: str) -> Host:
        """Boot a stopped host with the command line `up` used; returns when its sshd answers."""
        require_root()
        h = self.host(ref)
        if not (pid_alive(h.pid) and self.owns(h.pid)):
            lab_hosts.start_again(self.folder, self.name, h, self._binds(), self.env(), self.record_host)
        return h

    def restart_host(self, ref: str, timeout: float = 30) -> Host:
        """A clean reboot of one host's container (`stop_host`, `start_host`): what is on its disk
        stays, what was only in memory (/run, processes) is gone; its salt-minion starts again."""
        self.stop_host(ref, timeout)
        return self.start_host(ref)

    def _start_master(self) -> None:
        self._record(master_pid=lab_minions.start_master(self.folder, self.bridge_address, self.env()).pid)

    def restart_master(self) -> None:
        """Restart the lab's salt-master (minion mode), e.g. after its config file changed; wait for
        the minions, refresh their pillar."""
        pid = self.state.get("master_pid")
        if pid_alive(pid) and self.owns(pid):
            stop_processes([pid], 10)
        self._start_master()
        lab_minions.wait(self.folder, self.hosts, self.state.get("master_pid"))
        self.salt("*", "saltutil.refresh_pillar", "--static", "-t", "30", check=False)

    def record_standin_pid(self, name: str, pid: int) -> None:
        """Record a stand-in process in state.json as it starts (`down` stops it)."""
        self.state.setdefault("standins_pids", {})[name] = pid
        self.save()

    def _start_standins(self) -> None:
        self._record(standins=True)  # recorded first: `down` then stops them
        recorded, master_changed = lab_standins.start(self.folder, self.bridge_address, self.hosts,
                                                      self.record_standin_pid)
        self._record(**recorded)
        if master_changed and self.state.get("minions") and pid_alive(self.state.get("master_pid")):
            # a running master reads its config only at start (e.g. pillar_roots added by the stand-ins)
            echo("master config changed by the stand-ins: restarting the salt-master")
            self.restart_master()

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
        return [*args, f"root@{h.address}", *cmd]

    def ssh(self, ref: str, cmd: str, check: bool = True, timeout: float | None = 300) -> subprocess.CompletedProcess:
        """Run ``cmd`` (a shell string) on a host as root; returns the CompletedProcess."""
        return run(self.ssh_command(ref, cmd), check=check, timeout=timeout)

    def salt_command(self, *args: str) -> list[str]:
        """`salt -c LABDIR ARGS` (minion mode); run it from the lab folder."""
        return [tool("salt"), "-c", self.dir, *args]

    def salt_ssh_command(self, *args: str) -> list[str]:
        """`salt-ssh ARGS`; run it from the lab folder (its Saltfile supplies every option)."""
        return [tool("salt-ssh"), *args]

    def salt(self, *args: str, check: bool = True, timeout: float | None = 600) -> subprocess.CompletedProcess:
        return lab_minions.salt(self.folder, *args, check=check, timeout=timeout)

    def salt_ssh(self, *args: str, check: bool = True, timeout: float | None = 900) -> subprocess.CompletedProcess:
        return run(self.salt_ssh_command(*args), check=check, cwd=self.dir, timeout=timeout)

    # ---------------------------------------------------------------- down
    def down(self, timeout: float = 3) -> None:
        """Stop and remove everything this lab made; safe after a crashed `up` and when repeated."""
        require_root()
        t0 = time.monotonic()
        if self.state.get("standins"):
            lab_standins.stop(self.state.get("standins_pids") or {})
            self.state.pop("standins_pids", None)
        teardown.down(self.dir, self.name, [self.state.get("master_pid"), self.state.get("proxy_pid")],
                      self.hosts, self.state.get("slice"), timeout)
        self.state = {}
        echo(f"lab {self.name} down ({time.monotonic() - t0:.1f}s)")


def all_labs(root: str | None = None) -> list[Lab]:
    root = root or LAB_ROOT
    try:
        names = sorted(n for n in os.listdir(root) if NAME_RE.match(n) and os.path.isdir(os.path.join(root, n)))
    except OSError:
        return []
    return [Lab(n, root) for n in names]
