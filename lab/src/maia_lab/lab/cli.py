"""`maia lab ...`: the click group (added to `maia` with ``main.add_command(lab)``)."""
from __future__ import annotations

import json
import os
import sys

import click

from . import core

NAME_OPTION = click.option(
    "--name", default="default", show_default=True, envvar="MAIA_LAB_NAME",
    help="Lab name; several labs with different names can run at once.",
)
PASSTHROUGH = {"ignore_unknown_options": True, "allow_interspersed_args": False}
# `maia lab path WHAT` -> the Lab attribute it prints
PATHS = {
    "dir": "dir", "config-folder": "config_folder", "roster": "roster",
    "inventory": "inventory", "key": "key", "master": "master_config",
}
ERRORS = (RuntimeError, ValueError, PermissionError, TimeoutError)


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from exc


@click.group()
def lab():
    """A lab of real Debian hosts on this machine (systemd-nspawn), for tests, demos and benchmarks. Needs root."""


@lab.command()
@click.option("--hosts", "nhosts", default=3, show_default=True, type=click.IntRange(1, core.MAX_HOSTS), help="Number of hosts.")
@NAME_OPTION
@click.option("--suite", default="bookworm", show_default=True, type=click.Choice(["bookworm", "trixie"]), help="Debian release of the hosts.")
@click.option("--minions", is_flag=True, help="Also run a salt-master on the bridge and a salt-minion in every host.")
@click.option("--standins", is_flag=True, help="Start the stand-ins for services this machine cannot run (see docs/lab.md).")
@click.option("--workers", default=0, show_default=True, type=click.IntRange(0, core.MAX_HOSTS - 1),
              help="maia-node-1 .. maia-node-N are also in the inventory's group `workers` (Kubernetes workers).")
def up(nhosts, name, suite, minions, standins, workers):
    """Bring a lab up (a no-op when it is already up)."""
    try:
        lab_ = core.Lab(name).up(hosts=nhosts, suite=suite, minions=minions, standins=standins, workers=workers)
    except ERRORS as exc:
        _fail(exc)
    click.echo(lab_.dir)


@lab.command()
@NAME_OPTION
@click.option("--all", "all_labs", is_flag=True, help="Every lab on this machine.")
def down(name, all_labs):
    """Stop a lab and remove everything it made (also after a crashed `up`)."""
    try:
        for lab_ in core.all_labs() if all_labs else [core.Lab(name)]:
            lab_.down()
    except ERRORS as exc:
        _fail(exc)


@lab.command()
@click.option("--name", default=None, help="Only this lab (default: every lab).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(name, as_json):
    """Show labs, their hosts, addresses and what is running."""
    labs = [core.Lab(name)] if name else core.all_labs()
    data = [lab_.status() for lab_ in labs if lab_.exists]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    if not data:
        click.echo("no lab")
        return
    for st in data:
        click.echo(f"lab {st['name']}: {'up' if st['up'] else 'NOT UP'} ({st['suite']})  folder {st['folder']}")
        click.echo(f"  bridge {st['bridge']}  proxy {st['proxy']}" + (f"  salt-master {'up' if st['master'] else 'down'}" if st["minions"] else ""))
        for h in st["hosts"]:
            state = "running" if h["running"] else "stopped"
            click.echo(f"  {h['name']:<14} {h['address']:<15} {state:<8} ssh={'yes' if h['ssh'] else 'no':<3} disks {' '.join(h['devices'])}")


@lab.command(context_settings=PASSTHROUGH)
@click.argument("host")
@click.argument("cmd", nargs=-1, type=click.UNPROCESSED)
@NAME_OPTION
def ssh(host, cmd, name):
    """Open a shell on HOST (name, index or address), or run CMD there."""
    lab_ = core.Lab(name)
    try:
        args = lab_.ssh_command(host, *cmd, tty=not cmd and sys.stdin.isatty())
    except KeyError as exc:
        _fail(exc)
    os.execvp(args[0], args)


@lab.command()
@click.argument("host")
@NAME_OPTION
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(1, 600),
              help="Seconds the host's shutdown may take before it is killed.")
def restart(host, name, timeout):
    """Restart HOST's container (name, index or address): an orderly shutdown, then a boot with the
    same command line; returns when its SSH server answers again."""
    try:
        h = core.Lab(name).restart_host(host, timeout)
    except (*ERRORS, KeyError) as exc:
        _fail(exc)
    click.echo(f"{h.name} restarted (pid {h.pid})")


def _salt_tool(tool: str, argv, help_: str):
    """A `maia lab TOOL ARGS` command: ``argv(lab, *ARGS)`` run from the lab folder, in place of this process."""

    @lab.command(name=tool, context_settings=PASSTHROUGH, help=help_)
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    @NAME_OPTION
    def command(args, name):
        lab_ = core.Lab(name)
        os.chdir(lab_.dir)
        exe = argv(lab_, *args)
        os.execv(exe[0], exe)

    return command


salt_cmd = _salt_tool("salt", core.Lab.salt_command, "Run `salt ARGS` against the lab's master (lab up with --minions).")
salt_ssh_cmd = _salt_tool(
    "salt-ssh", core.Lab.salt_ssh_command, "Run `salt-ssh ARGS` from the lab folder (its Saltfile supplies config, roster and key)."
)


@lab.command()
@NAME_OPTION
@click.argument("what", type=click.Choice(list(PATHS)), default="dir")
def path(name, what):
    """Print a path of the lab (folder, CONFIG_FOLDER, roster, ...), for scripts."""
    click.echo(getattr(core.Lab(name), PATHS[what]))


if __name__ == "__main__":
    lab()
