"""What ``maia install`` and ``maia demo`` show while orch.maia runs.

Two views of the same events: :class:`PlainProgress` prints one line per event
(pipes, CI logs), :class:`LiveProgress` keeps a compact table up to date on a
terminal with ``rich``. :func:`for_stream` picks one. Failures and notes are
printed as lines in both, the moment they are known.
"""
from __future__ import annotations

import sys
import time

from .orchestrations import ONE_JOB
from .summary import HostResult

STAGE_TITLES = {
    "preflight": "preflight checks of every host",
    "sync": "syncing modules and pillar",
    "sync-preflight": "syncing modules and pillar, preflight checks of every host",
    ONE_JOB: "every stage in one job per host (the last run finished with the same inputs)",
    "prepare": "stage 1 prepare",
    "reboots": "waiting for NVIDIA reboots",
    "k8s": "stage 2 k8s",
    "kubeconfig": "fetching the kubeconfig",
    "core": "stage 3 core",
    "admin": "stage 4 admin",
    "rancher": "Rancher token and local.yaml",
    "dashboard": "stage 4 dashboard",
    "leaving": "the leaving host's own files",
    "others": "the other hosts' rules that name it",
    "inventory": "dropping it from the inventory",
}


def host_line(r: HostResult) -> str:
    if r.busy:
        return f"{r.stage:<8} {r.host:<16} busy: an earlier state run (job {r.busy}) is still running"
    if r.error is not None:
        return f"{r.stage:<8} {r.host:<16} ERROR {r.error[:300]}"
    return (f"{r.stage:<8} {r.host:<16} {r.states:>4} states {r.changed:>4} changed {r.failed:>3} failed "
            f"{r.seconds:>7.1f}s")


def app_layer(name: str) -> str:
    """The stage an Application belongs to, from its name (``maia-<layer>-<component>``): core or admin."""
    parts = name.split("-", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "maia" and parts[1] in ("core", "admin") else "core"


def failure_lines(r: HostResult) -> list[str]:
    return [f"FAILED {r.stage} on {r.host}: {state_id}: {comment}" for state_id, comment in r.failures]


class Progress:
    """The run as it goes: the stage running, each host's result, stage 3's Applications."""

    def __init__(self):
        self.started = time.monotonic()
        self.stage: str | None = None
        self.hosts: dict[str, list[str]] = {}  # stage -> hosts it runs on
        self.done: dict[tuple[str, str], HostResult] = {}
        self.apps: list[tuple[str, str, str]] = []  # (name, sync, health)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # events -------------------------------------------------------------
    def step(self, name: str) -> None:
        self.stage = name
        self._line(f"{STAGE_TITLES.get(name, name)} ...")

    def stage_started(self, stage: str, hosts: list[str], jid: str) -> None:
        self.stage = stage
        self.hosts[stage] = list(hosts)
        on = f" on {', '.join(hosts)}" if hosts else ""
        self._line(f"{STAGE_TITLES.get(stage, stage)}{on} (job {jid})")

    def host_done(self, result: HostResult) -> None:
        if result.stage != ONE_JOB and result.host in self.hosts.get(ONE_JOB, []):
            self.hosts[ONE_JOB].remove(result.host)  # its one job's rows, split by stage, take its place
        self.done[(result.stage, result.host)] = result
        self.hosts.setdefault(result.stage, [])
        if result.host not in self.hosts[result.stage]:
            self.hosts[result.stage].append(result.host)
        if not result.busy:  # busy hosts are named once, by the caller
            self._host(result)
            for line in failure_lines(result):
                self._line(line)

    def app_status(self, apps: list[tuple[str, str, str]]) -> None:
        changed = [a for a in apps if a not in self.apps]
        self.apps = list(apps)
        self._apps(changed)

    def note(self, text: str) -> None:
        self._line(text)

    def ask(self, question: str) -> bool:
        """A yes/no question on the terminal; False without one (pipe, CI)."""
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            return False
        import click

        return click.confirm(question, default=True, err=True)

    def close(self) -> None:
        pass

    # rendering (subclasses) ---------------------------------------------
    def _line(self, text: str) -> None:
        raise NotImplementedError

    def _host(self, result: HostResult) -> None:
        self._line(host_line(result))

    def _apps(self, changed: list[tuple[str, str, str]]) -> None:
        pass


class PlainProgress(Progress):
    """One line per event, each with the seconds since the start: for pipes and CI logs."""

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream or sys.stderr

    def _line(self, text: str) -> None:
        self.stream.write(f"[{self.elapsed():7.1f}s] {text}\n")
        self.stream.flush()

    def _apps(self, changed):
        for name, sync, health in changed:
            self._line(f"{app_layer(name):<8} application {name}: {sync or '-'} / {health or '-'}")


class LiveProgress(Progress):
    """A compact live table on a terminal (rich): stages, hosts, stage 3's Applications."""

    def __init__(self, console=None):
        super().__init__()
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(stderr=True)
        self.live = Live(self._table(), console=self.console, refresh_per_second=4, transient=True,
                         get_renderable=self._table)
        self.live.start()

    def _table(self):
        from rich.table import Table

        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for title, kw in (("stage", {}), ("host", {}), ("states", {"justify": "right"}),
                          ("changed", {"justify": "right"}), ("failed", {"justify": "right"}),
                          ("time", {"justify": "right"})):
            table.add_column(title, **kw)
        for stage, hosts in self.hosts.items():
            for host in hosts:
                r = self.done.get((stage, host))
                if r is None:
                    table.add_row(stage, host, "", "", "", "[yellow]running[/]" if stage == self.stage else "")
                elif r.busy:
                    table.add_row(stage, host, "", "", "[red]busy[/]", "")
                elif r.error is not None:
                    table.add_row(stage, host, "-", "-", "[red]ERROR[/]", "-")
                else:
                    failed = f"[red]{r.failed}[/]" if r.failed else "0"
                    table.add_row(stage, host, str(r.states), str(r.changed), failed, f"{r.seconds:.1f}s")
        for name, sync, health in self.apps:
            style = "green" if (sync, health) == ("Synced", "Healthy") else "yellow"
            table.add_row(app_layer(name), f"app {name}", "", "", "", f"[{style}]{sync or '-'}/{health or '-'}[/]")
        now = STAGE_TITLES.get(self.stage or "", self.stage or "starting")
        table.caption = f"{now}  {self.elapsed():.0f}s"
        return table

    def _line(self, text: str) -> None:
        self.live.console.print(text, markup=False, highlight=False)

    def _host(self, result):
        pass  # the table shows it

    def ask(self, question: str) -> bool:
        self.live.stop()
        try:
            return super().ask(question)
        finally:
            self.live.start()

    def close(self) -> None:
        self.live.stop()


def for_stream(stream=None, output=None) -> Progress:
    """A live view when ``stream`` (default stderr) and the command's ``output`` (default stdout)
    are both terminals; plain lines on ``stream`` otherwise. ``maia preflight | cat`` or ``| tee``
    asks for a log: it gets one line per event, with no control codes, also on the terminal."""
    stream = stream or sys.stderr
    output = output or sys.stdout
    if stream.isatty() and output.isatty():
        return LiveProgress()
    return PlainProgress(stream)
