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
@click.option("--stages", default=None, help="Comma-separated subset of prepare,k8s,core,admin.")
@click.option("--pillar", "pillar_json", default=None, help='Extra pillar as JSON, e.g. \'{"maia": {"prepare": {"ufw": false}}}\'.')
@click.option("--test", is_flag=True, help="Dry run: predict the changes (test=True).")
@click.option("--wait/--no-wait", default=None,
              help="When hosts still run an earlier state run: wait for it, then run (default: ask on a terminal, "
                   "else stop).")
def install(salt_config, ssh, stages, pillar_json, test, wait):
    """Run orch.maia (salt-run state.orch): live progress, then a summary per stage and host."""
    import json

    try:
        extra = json.loads(pillar_json) if pillar_json else None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--pillar")
    stage_list = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    click.echo(f"running orch.maia ({'salt-ssh' if ssh else 'minions'}) with {salt_config} ...", err=True)
    from .install import run_orchestration

    report = run_with_progress(run_orchestration, salt_config, stage_list, ssh=ssh, pillar=extra, test=test, wait=wait)
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


def run_with_progress(run, *args, **kw):
    """``run`` (run_orchestration or a day-2 run_*) with the live view (terminal) or plain lines
    (pipe); Ctrl-C says what goes on."""
    from .install import Interrupted
    from .progress import for_stream

    progress = for_stream()
    try:
        return run(*args, progress=progress, **kw)
    except Interrupted as exc:
        progress.close()
        click.echo(str(exc), err=True)
        sys.exit(130)
    finally:
        progress.close()


# ---------------------------------------------------------------- day-2 commands
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
    report = run_with_progress(run_preflight, salt_config, ssh=ssh, pillar=extra)
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


def _site_name(config_folder) -> str:
    import json

    if not config_folder:
        raise click.UsageError("--wipe-storage asks for the site's name: give --config-folder (or $CONFIG_FOLDER), or --yes")
    try:
        env = json.loads((Path(config_folder) / "env.json").read_text(encoding="utf-8"))
        return env["cluster_name"]
    except (OSError, ValueError, KeyError) as exc:
        raise click.UsageError(f"cannot read the site's name from {config_folder}/env.json ({exc}); give --yes to skip the question")


@main.command()
@_SALT_CONFIG
@_SSH
@_PILLAR
@click.option("--stages", default=None, help="Comma-separated subset of admin,core,k8s,prepare (default: all four, in that order).")
@click.option("--wipe-storage", is_flag=True, help="Also remove the MAIA LVM volumes, volume group and PVs (DATA LOST).")
@click.option("--yes", is_flag=True, help="Do not ask for the site's name before --wipe-storage.")
@click.option("--config-folder", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get("CONFIG_FOLDER") or None, help="CONFIG_FOLDER (for the site's name).")
@click.option("--test", is_flag=True, help="Dry run: show what would be removed (test=True).")
def reset(salt_config, ssh, pillar_json, stages, wipe_storage, yes, config_folder, test):
    """Undo maia install, last stage first (orch.maia_reset); print a summary per stage and host."""
    from .day2 import RESET_STAGES, run_reset

    extra = _json_option(pillar_json, "--pillar")
    stage_list = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    unknown = sorted(set(stage_list or []) - set(RESET_STAGES))
    if unknown:
        raise click.BadParameter(f"unknown stage(s) {', '.join(unknown)}; use {','.join(RESET_STAGES)}", param_hint="--stages")
    if wipe_storage and not yes and not test:
        name = _site_name(config_folder)
        typed = click.prompt(f"--wipe-storage destroys the data on every host's MAIA volumes. Type the site name ({name}) to go on")
        if typed.strip() != name:
            click.echo("the name does not match: nothing was changed", err=True)
            sys.exit(2)
    click.echo(f"running orch.maia_reset ({'salt-ssh' if ssh else 'minions'}{', test' if test else ''}) with {salt_config} ...",
               err=True)
    report = run_with_progress(run_reset, salt_config, stage_list, wipe_storage=wipe_storage, ssh=ssh, pillar=extra,
                               test=test)
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


@main.command("remove-host")
@click.argument("name")
@_SALT_CONFIG
@_SSH
@_PILLAR
@click.option("--test", is_flag=True, help="Dry run: show what would change (test=True); the inventory is kept.")
def remove_host(name, salt_config, ssh, pillar_json, test):
    """Take host NAME out of the site (orch.maia_remove_host): its UFW/NFS entries on the others,
    its NFS mount and CIFS files on itself if it answers, then its inventory entry."""
    from .day2 import run_remove_host

    extra = _json_option(pillar_json, "--pillar")
    click.echo(f"running orch.maia_remove_host for {name} ({'salt-ssh' if ssh else 'minions'}"
               f"{', test' if test else ''}) with {salt_config} ...", err=True)
    report = run_with_progress(run_remove_host, salt_config, name, ssh=ssh, pillar=extra, test=test)
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


def _add_optional_commands():
    """Commands of other distributions (entry point group ``maia.commands``): ``maia lab`` and
    ``maia demo`` come with maia-salt-lab (lab/), which development machines install and sites do not."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="maia.commands"):
        main.add_command(entry.load(), entry.name)


_add_optional_commands()

if __name__ == "__main__":
    main()
