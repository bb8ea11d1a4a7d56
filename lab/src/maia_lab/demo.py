"""``maia demo``: the whole installation on a fresh 3-host lab, with a closing summary.

Boots the lab (real systemd-nspawn Debian hosts, a salt-master and minions, and
the stand-ins for what this machine cannot run: the Kubernetes API, MicroK8s
and the ArgoCD controller, see docs/standins.md), then runs orch.maia against it.
"""
from __future__ import annotations

import sys
import time

import click



@click.command()
@click.option("--hosts", default=3, show_default=True, help="Number of lab hosts.")
@click.option("--name", default="demo", show_default=True, help="Lab name.")
@click.option("--ssh", is_flag=True, help="Install over salt-ssh instead of minions.")
@click.option("--stages", default=None, help="Comma-separated subset of prepare,k8s,core,admin.")
@click.option("--down/--keep", default=False, show_default=True, help="Take the lab down at the end.")
def demo(hosts, name, ssh, stages, down):
    """Install MAIA on a local lab of real hosts and print a summary."""
    from .lab import core

    started = time.monotonic()
    lab = core.Lab(name).up(hosts=hosts, minions=not ssh, standins=True)
    click.echo(f"lab {name} up in {time.monotonic() - started:.1f}s: {lab.dir}", err=True)
    stage_list = [s.strip() for s in stages.split(",")] if stages else None
    click.echo(f"running orch.maia on {hosts} hosts ({'salt-ssh' if ssh else 'master + minions'}) ...", err=True)
    from maia_salt.cli import run_with_progress
    from maia_salt.install import run_orchestration

    report = run_with_progress(run_orchestration, lab.dir, stage_list, ssh=ssh, wait=True)
    click.echo(report.render())
    click.echo(f"lab folder: {lab.dir}  (maia lab status --name {name}; maia lab down --name {name})")
    if down:
        core.Lab(name).down()
    sys.exit(0 if report.ok else 1)
