"""``maia``: the operator's command line (roster, lab, ...)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .files import PlannedFile, dump_yaml, write_files_atomically
from .inventory import INVENTORY_FILE, InventoryError, load_inventory


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """maia-salt: install the MAIA platform with Salt."""


@main.command()
@click.option("--config-folder", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get("CONFIG_FOLDER"), required=True,
              help="CONFIG_FOLDER holding inventory.yaml (default: $CONFIG_FOLDER).")
@click.option("--priv", type=click.Path(dir_okay=False), default=None, help="SSH private key for every host.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the roster here (default: standard output).")
def roster(config_folder, priv, output):
    """Write a salt-ssh roster from CONFIG_FOLDER/inventory.yaml."""
    try:
        inventory = load_inventory(config_folder / INVENTORY_FILE)
    except InventoryError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    text = dump_yaml(inventory.to_roster(priv=os.path.abspath(priv) if priv else None))
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    write_files_atomically(output.parent, [PlannedFile(output.name, text.encode(), 0o600)])
    click.echo(f"wrote {output} ({len(inventory.hosts)} hosts)", err=True)


@main.command()
@click.option("-c", "--salt-config", default=lambda: os.environ.get("SALT_CONFIG_DIR", "/etc/salt"),
              show_default="$SALT_CONFIG_DIR or /etc/salt", help="Salt configuration folder of the master side.")
@click.option("--ssh", is_flag=True, help="Agentless: run every stage over salt-ssh (roster_file of the config).")
@click.option("--stages", default=None, help="Comma-separated subset of prepare,k8s,core.")
@click.option("--pillar", "pillar_json", default=None, help='Extra pillar as JSON, e.g. \'{"maia": {"prepare": {"ufw": false}}}\'.')
@click.option("--test", is_flag=True, help="Dry run: predict the changes (test=True).")
def install(salt_config, ssh, stages, pillar_json, test):
    """Run orch.maia (salt-run state.orch) and print a summary per stage and host."""
    import json

    from .install import run_orchestration

    try:
        extra = json.loads(pillar_json) if pillar_json else None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--pillar")
    stage_list = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    click.echo(f"running orch.maia ({'salt-ssh' if ssh else 'minions'}) with {salt_config} ...", err=True)
    report = run_orchestration(salt_config, stage_list, ssh=ssh, pillar=extra, test=test)
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


# ---------------------------------------------------------------- day-2 commands (helper day2)
_SALT_CONFIG = click.option(
    "-c", "--salt-config", default=lambda: os.environ.get("SALT_CONFIG_DIR", "/etc/salt"),
    show_default="$SALT_CONFIG_DIR or /etc/salt", help="Salt configuration folder of the master side.")
_SSH = click.option("--ssh", is_flag=True, help="Agentless: reach the hosts over salt-ssh (roster_file of the config).")
_PILLAR = click.option("--pillar", "pillar_json", default=None,
                       help='Extra pillar as JSON, e.g. \'{"maia": {"prepare": {"lvm": false}}}\'.')


def _json_option(text, hint):
    import json

    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=hint)


@main.command()
@_SALT_CONFIG
@_SSH
@_PILLAR
def preflight(salt_config, ssh, pillar_json):
    """Check every host and the site before an install; change nothing (orch.maia_preflight)."""
    from .day2 import run_preflight

    extra = _json_option(pillar_json, "--pillar")
    click.echo(f"running orch.maia_preflight ({'salt-ssh' if ssh else 'minions'}) with {salt_config} ...", err=True)
    report = run_preflight(salt_config, ssh=ssh, pillar=extra)
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


def _add_optional_commands():
    try:
        from .lab.cli import lab
    except ImportError:
        return
    main.add_command(lab)
    from .demo import demo

    main.add_command(demo)


_add_optional_commands()

if __name__ == "__main__":
    main()
