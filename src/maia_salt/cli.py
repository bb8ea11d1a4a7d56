"""``maia``: the operator's command line (roster, lab, ...)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import checks
from .files import PlannedFile, dump_yaml, write_files_atomically
from .inventory import INVENTORY_FILE, InventoryError, load_inventory


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """maia-salt: install the MAIA platform with Salt.

    Exit codes: 0 done, 1 a host, stage or check failed, 2 bad input (nothing was run),
    3 drift found (maia drift), 130 interrupted. Salt's own warnings go to $MAIA_LOG_FILE (default
    ~/.local/state/maia-salt/maia.log), not to the terminal."""
    from . import runlog

    runlog.setup()


@main.command()
@click.option("--config-folder", default=checks.environ_default("CONFIG_FOLDER"), callback=checks.existing_config_folder,
              help="CONFIG_FOLDER holding inventory.yaml (default: $CONFIG_FOLDER).")
@click.option("--priv", type=click.Path(exists=True, dir_okay=False), default=None,
              help="SSH private key for every host.")
@click.option("-o", "--output", default=None, callback=checks.output_file,
              help="Write the roster here (default: standard output).")
def roster(config_folder, priv, output):
    """Write a salt-ssh roster from CONFIG_FOLDER/inventory.yaml."""
    try:
        inventory = load_inventory(config_folder / INVENTORY_FILE)
        # the pillar render's own checks (whether LVM is on is the pillar's, so device lists are not asked here)
        inventory.validate(lvm_enabled=False)
    except InventoryError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    text = dump_yaml(inventory.to_roster(priv=os.path.abspath(priv) if priv else None))
    if output is None:
        click.echo(text, nl=False)
        return
    write_files_atomically(output.parent, [PlannedFile(output.name, text.encode(), 0o600)])
    click.echo(f"wrote {output} ({len(inventory.hosts)} hosts)", err=True)


# ---------------------------------------------------------------- options shared by the runs
_SALT_CONFIG = click.option(
    "-c", "--salt-config", default=lambda: os.environ.get("SALT_CONFIG_DIR", "/etc/salt"),
    callback=checks.salt_config_folder,
    show_default="$SALT_CONFIG_DIR or /etc/salt", help="Salt configuration folder of the master side.")
_SSH = click.option("--ssh", is_flag=True, help="Agentless: reach the hosts over salt-ssh (roster_file of the config).")
_PILLAR_JSON = click.option("--pillar", "pillar_json", default=None,
                            help='Extra pillar as JSON, e.g. \'{"maia": {"prepare": {"lvm": false}}}\' '
                                 "(visible in ps: never a secret; use --pillar-file).")
_PILLAR_FILE = click.option("--pillar-file", "pillar_file", type=click.File("r"), default=None,
                            help="Extra pillar from a JSON/YAML file, '-' for standard input (for secrets).")


def _PILLAR(command):  # pylint: disable=invalid-name
    return _PILLAR_JSON(_PILLAR_FILE(command))


_JSON = click.option("--json", "as_json", is_flag=True,
                     help="Write one JSON result document to standard output (docs/json-output.md); "
                          "progress stays on standard error.")


def _finish(command: str, report, as_json: bool, test: bool = False) -> None:
    """Print the report (text, with the plan under --test; or the JSON document) and exit 0 or 1."""
    from . import jsonout, plan

    if as_json:
        doc = jsonout.of_preflight(report) if command == "preflight" else jsonout.of_run(command, report, test)
        click.echo(jsonout.dumps(doc))
        sys.exit(doc["exit_code"])
    click.echo(report.render())
    if test:
        click.echo(plan.render(report.results))
    sys.exit(0 if report.ok else 1)


@main.command()
@_SALT_CONFIG
@click.option("--ssh", is_flag=True, help="Agentless: run every stage over salt-ssh (roster_file of the config).")
@click.option("--stages", default=None, callback=checks.install_stages, help="Comma-separated subset of prepare,k8s,core,admin.")
@_PILLAR
@click.option("--test", is_flag=True, help="Dry run: predict the changes (test=True).")
@click.option("--wait/--no-wait", default=None,
              help="When hosts still run an earlier state run: wait for it, then run (default: ask on a terminal, "
                   "else stop).")
@click.option("--skip-unreachable", is_flag=True,
              help="Hosts that do not answer (minion, or SSH with --ssh) are left out of this run and reported as "
                   "not done (exit 1).")
@_JSON
def install(salt_config, ssh, stages, pillar_json, pillar_file, test, wait, skip_unreachable, as_json):
    """Run orch.maia (salt-run state.orch): live progress, then a summary per stage and host
    (with --test: the plan, each state that would change)."""
    extra = _extra_pillar(pillar_json, pillar_file)
    stage_list = stages
    hosts = _site_checked(salt_config, extra)
    absent = _absent(salt_config, hosts, ssh, skip_unreachable, as_json, test)
    if absent:
        from .merge import deep_merge

        extra = deep_merge(extra or {}, {"maia": {"orch": {"skip": absent}}})
    click.echo(f"running orch.maia ({'salt-ssh' if ssh else 'minions'}) with {salt_config} ...", err=True)
    from .install import run_orchestration

    report = run_with_progress(run_orchestration, salt_config, stage_list, ssh=ssh, pillar=extra, test=test, wait=wait,
                               json_command="install" if as_json else None)
    if absent:
        from .summary import HostResult

        report.results += [HostResult("-", host, error="did not answer: left out of this run (--skip-unreachable)")
                           for host in absent]
    _finish("install", report, as_json, test)


def _absent(salt_config: str, hosts: list[str], ssh: bool, skip: bool, as_json: bool, test: bool,
            command: str = "install") -> list[str]:
    """The inventory's hosts that do not answer (their minion, or over salt-ssh their SSH server), asked
    before any stage; without --skip-unreachable any of them stops the run here (exit 1), naming them
    and the fix."""
    from . import reach
    from .install import master_opts

    what = "SSH servers" if ssh else "minions"
    click.echo(f"asking the {len(hosts)} host(s) of the inventory whether their {what} answer ...", err=True)
    opts = master_opts(salt_config)
    absent = reach.absent_ssh_hosts(opts, hosts) if ssh else reach.absent_minions(opts, hosts)
    if not absent:
        return []
    click.echo(f"{'warning' if skip else 'error'}: {reach.message(absent, ssh)}", err=True)
    if skip:
        return absent
    if as_json:
        from . import jsonout
        from .summary import HostResult

        rows = [HostResult("-", host, error="did not answer") for host in absent]
        click.echo(jsonout.dumps(jsonout.document(command, ok=False, exit_code=1, test=test, results=rows,
                                                  notes=[reach.message(absent, ssh)])))
    click.echo("nothing was run", err=True)
    sys.exit(1)


def _site_checked(salt_config: str, extra: dict | None) -> list[str]:
    """maia validate's offline checks of the master's CONFIG_FOLDER (those that do not depend on the
    site's ordinary pillar), before Salt runs anything: an error stops here with exit 2. Returns the
    inventory's host names (none when the master has no maia ext_pillar)."""
    from .install import master_opts
    from .validate import config_folder_of, validate_site

    try:
        folder = config_folder_of(master_opts(salt_config))
    except Exception as exc:  # pylint: disable=broad-except  (Salt's own parse error of the file)
        raise click.BadParameter(f"{salt_config}/master cannot be read: {exc}", param_hint="--salt-config")
    if folder is None:
        return []  # no maia ext_pillar here: the pillar comes from elsewhere (the run says what is missing)
    report = validate_site(folder, ((extra or {}).get("maia") or {}), render=False)
    if not report.ok:
        for finding in report.errors:
            click.echo(f"error: {finding.message}", err=True)
        click.echo(f"fix CONFIG_FOLDER first (check it with: maia validate --config-folder {folder}); "
                   "nothing was run", err=True)
        sys.exit(2)
    return report.hosts


def run_with_progress(run, *args, json_command: str | None = None, **kw):
    """``run`` (run_orchestration or a day-2 run_*) with the live view (terminal) or plain lines
    (pipe); Ctrl-C says what goes on (exit 130; with --json also as a document)."""
    from .install import Interrupted
    from .progress import for_stream

    progress = for_stream()
    try:
        return run(*args, progress=progress, **kw)
    except Interrupted as exc:
        progress.close()
        click.echo(str(exc), err=True)
        if json_command:
            from . import jsonout

            click.echo(jsonout.dumps(jsonout.interrupted(json_command, str(exc), bool(kw.get("test")))))
        sys.exit(130)
    finally:
        progress.close()


# ---------------------------------------------------------------- day-2 commands
def _extra_pillar(pillar_json, pillar_file):
    """The extra pillar of --pillar-file (read here, so that it never shows in the process list)
    with --pillar over it; None when neither is given."""
    import yaml

    from .files import load_yaml_unique
    from .merge import deep_merge

    extra = _json_option(pillar_json, "--pillar")
    if pillar_file is None:
        return extra
    try:
        from_file = load_yaml_unique(pillar_file.read())
    except yaml.YAMLError as exc:
        raise click.BadParameter(f"not JSON or YAML: {exc}", param_hint="--pillar-file")
    if not isinstance(from_file, dict):
        raise click.BadParameter("must hold a mapping, e.g. {maia: {...}}", param_hint="--pillar-file")
    return deep_merge(from_file, extra or {})


def _json_option(text, hint):
    import json

    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=hint)


@main.group()
def hosts():
    """The site's hosts as the master knows them."""


@hosts.command("accept-address")
@click.argument("name")
@click.option("--config-folder", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get("CONFIG_FOLDER"), required=True,
              help="CONFIG_FOLDER (default: $CONFIG_FOLDER).")
def accept_address(name, config_folder):
    """Trust the new address host NAME reported (the one a run stopped on), for its firewall and NFS rules."""
    from .known_addresses import AddressChanged, accept

    try:
        accepted = accept(config_folder, name)
    except AddressChanged as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if accepted is None:
        click.echo(f"{name}: no changed address waits for acceptance; nothing was changed")
        return
    old, new = accepted
    click.echo(f"{name}: address {old or '(none)'} -> {new} accepted")


@main.command()
@_SALT_CONFIG
@_SSH
@_PILLAR
@_JSON
def preflight(salt_config, ssh, pillar_json, pillar_file, as_json):
    """Check every host and the site before an install; change nothing (orch.maia_preflight)."""
    from .day2 import run_preflight

    extra = _extra_pillar(pillar_json, pillar_file)
    click.echo(f"running orch.maia_preflight ({'salt-ssh' if ssh else 'minions'}) with {salt_config} ...", err=True)
    report = run_with_progress(run_preflight, salt_config, ssh=ssh, pillar=extra,
                               json_command="preflight" if as_json else None)
    _finish("preflight", report, as_json)


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
@click.option("--stages", default=None, callback=checks.reset_stages,
              help="Comma-separated subset of admin,core,k8s,prepare (default: all four, in that order).")
@click.option("--wipe-storage", is_flag=True, help="Also remove the MAIA LVM volumes, volume group and PVs (DATA LOST).")
@click.option("--yes", is_flag=True, help="Do not ask for the site's name before --wipe-storage.")
@click.option("--config-folder", default=checks.environ_default("CONFIG_FOLDER"), callback=checks.optional_config_folder,
              help="CONFIG_FOLDER (for the site's name).")
@click.option("--test", is_flag=True, help="Dry run: show what would be removed (test=True).")
@_JSON
def reset(salt_config, ssh, pillar_json, pillar_file, stages, wipe_storage, yes, config_folder, test, as_json):
    """Undo maia install, last stage first (orch.maia_reset); print a summary per stage and host."""
    from .day2 import run_reset

    extra = _extra_pillar(pillar_json, pillar_file)
    stage_list = stages
    if wipe_storage and not yes and not test:
        name = _site_name(config_folder)
        typed = click.prompt(f"--wipe-storage destroys the data on every host's MAIA volumes. Type the site name ({name}) to go on")
        if typed.strip() != name:
            click.echo("the name does not match: nothing was changed", err=True)
            sys.exit(2)
    click.echo(f"running orch.maia_reset ({'salt-ssh' if ssh else 'minions'}{', test' if test else ''}) with {salt_config} ...",
               err=True)
    report = run_with_progress(run_reset, salt_config, stage_list, wipe_storage=wipe_storage, ssh=ssh, pillar=extra,
                               test=test, json_command="reset" if as_json else None)
    _finish("reset", report, as_json, test)


@main.command("remove-host")
@click.argument("name")
@_SALT_CONFIG
@_SSH
@_PILLAR
@click.option("--test", is_flag=True, help="Dry run: show what would change (test=True); the inventory is kept.")
@_JSON
def remove_host(name, salt_config, ssh, pillar_json, pillar_file, test, as_json):
    """Take host NAME out of the site (orch.maia_remove_host): its UFW/NFS entries on the others,
    its NFS mount and CIFS files on itself if it answers, then its inventory entry."""
    from .day2 import run_remove_host

    extra = _extra_pillar(pillar_json, pillar_file)
    click.echo(f"running orch.maia_remove_host for {name} ({'salt-ssh' if ssh else 'minions'}"
               f"{', test' if test else ''}) with {salt_config} ...", err=True)
    report = run_with_progress(run_remove_host, salt_config, name, ssh=ssh, pillar=extra, test=test,
                               json_command="remove-host" if as_json else None)
    _finish("remove-host", report, as_json, test)


@main.command()
@click.option("--config-folder", default=checks.environ_default("CONFIG_FOLDER"), callback=checks.existing_config_folder,
              help="The site's CONFIG_FOLDER (default: $CONFIG_FOLDER).")
@_PILLAR
@_JSON
def validate(config_folder, pillar_json, pillar_file, as_json):
    """Check a site offline, with no host and no Salt daemon: CONFIG_FOLDER, the inventory, every
    host's pillar, stage 3's specs and the SLS of every stage each host runs (real Salt, placeholder
    grains), with the messages a run would give. Exit 0 valid, 2 not."""
    from . import jsonout
    from .validate import validate_site

    extra = _extra_pillar(pillar_json, pillar_file) or {}
    report = validate_site(config_folder, extra.get("maia") or {})
    if as_json:
        doc = jsonout.of_validation(report)
        click.echo(jsonout.dumps(doc))
        sys.exit(doc["exit_code"])
    click.echo(report.render())
    sys.exit(0 if report.ok else 2)


@main.command()
@_SALT_CONFIG
@_SSH
@_JSON
def status(salt_config, ssh, as_json):
    """The last run of each stage on each host (the master's job cache: when, result, changes), and
    whether each host answers now (its minion; with --ssh its SSH server). Changes nothing."""
    import salt.runner

    from . import jsonout, reach
    from .install import master_opts
    from .status import StatusError, last_runs, render

    opts = master_opts(salt_config)
    hosts = _site_checked(salt_config, None)
    client = salt.runner.RunnerClient(opts)
    try:
        rows = last_runs(lambda fun, **kw: client.cmd(fun, kwarg=kw, print_event=False), hosts or None)
    except StatusError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    names = sorted(set(hosts) | {r.host for r in rows})
    absent = reach.absent_ssh_hosts(opts, names) if ssh else reach.absent_minions(opts, names)
    answers = {name: name not in absent for name in names}
    doc = jsonout.of_status(rows, answers)
    click.echo(jsonout.dumps(doc) if as_json else render(rows, answers))
    sys.exit(doc["exit_code"])


def _add_optional_commands():
    """Commands of other distributions (entry point group ``maia.commands``): ``maia lab`` and
    ``maia demo`` come with maia-salt-lab (lab/), which development machines install and sites do not."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="maia.commands"):
        main.add_command(entry.load(), entry.name)


from . import cli_backup, cli_drift  # noqa: E402,F401  register maia backup, restore and drift on main

_add_optional_commands()

if __name__ == "__main__":
    main()
