"""``maia-configure`` / ``MAIA_Configure_Installation.sh`` command line."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from . import checks
from .configure import ConfigError, configure
from .files import FolderError
from . import collection_vars
from .inventory import INVENTORY_FILE, LVM_ON_NOTE, InventoryError, import_ansible_inventory, load_inventory, write_inventory
from .inventory_diff import diff

EXIT_BAD_INPUT = 2


def _prompt(name: str, text: str, secret: bool) -> str:
    return click.prompt(f"{text} [{name}]", default="", show_default=False, hide_input=secret, err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("env_json", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--non-interactive", is_flag=True, help="Never prompt; fail listing every missing value.")
@click.option("--cifs-key", type=click.Choice(["yes", "no"]), default=None,
              help="Generate (or keep) the CIFS key pair without asking.")
@click.option("--realm-template", type=click.Path(dir_okay=False), default=None,
              help="Offline: a local MAIA_realm_template.json or maia-toolkit 2.5.0 wheel "
                   "(default: $MAIA_REALM_TEMPLATE, else downloaded from PyPI, pinned and checksummed).")
def configure_command(env_json, non_interactive, cifs_key, realm_template):
    """Write the site's CONFIG_FOLDER (env.json, cluster YAML, MicroK8s launch
    config, registry credentials, Keycloak realm, optional CIFS keys).

    Values come from ENV_JSON (its folder is then CONFIG_FOLDER), then the
    environment (MAIA_PRIVATE_REGISTRY, REGISTRY_USERNAME/REGISTRY_PASSWORD or
    HARBOR_USERNAME/HARBOR_PASSWORD, JSON_KEY_PATH, CLUSTER_DOMAIN, CLUSTER_NAME,
    CONFIG_FOLDER, INGRESS_RESOLVER_EMAIL, K8S_DISTRIBUTION, PUBLIC_REGISTRY,
    RANCHER_TOKEN, ADMIN_EMAIL, SSH_PORT_TYPE, PORT_RANGE_LOWER_BOUND,
    PORT_RANGE_UPPER_BOUND, STORAGE_CLASS, SHARED_STORAGE_CLASS, URL_TYPE,
    BUCKET_NAME), then the existing CONFIG_FOLDER, then prompts.

    Also: `maia-configure import-inventory INVENTORY [--host-vars DIR]`.
    """
    prompter = None if non_interactive else _prompt
    ask = None
    if not non_interactive:
        ask = lambda: click.confirm("Generate a CIFS key pair for CIFS shared storage?", default=False, err=True)  # noqa: E731
    try:
        result = configure(
            env_json,
            dict(os.environ),
            prompter,
            None if cifs_key is None else cifs_key == "yes",
            ask_cifs=ask,
            progress=lambda msg: click.echo(msg, err=True),
            realm_template=realm_template,
        )
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo("Nothing was written.", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except OSError as exc:  # a file that cannot be read: name it, no traceback
        click.echo(f"error: {exc.filename or 'CONFIG_FOLDER'}: {exc.strerror or exc}", err=True)
        click.echo("Nothing was written.", err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(f"CONFIG_FOLDER: {result.config_folder}")
    modes = {name: (old, new) for name, old, new in result.modes}
    for name in result.written:
        state = "written" if name in result.changed else "unchanged"
        if name in modes:
            old, new = modes[name]
            state += f", mode tightened {old:04o} -> {new:04o}" if old & ~new else f", mode {old:04o} -> {new:04o}"
        click.echo(f"  {name}: {state}")
    if "." in modes:
        old, new = modes["."]
        click.echo(f"  (folder): mode {old:04o} -> {new:04o}")
    if not result.atomic:
        click.echo("warning: the files were replaced one by one (the folder could not be swapped as a whole: "
                   "its parent is not writable, or it is a mount point)", err=True)
    if result.other_clusters:
        click.echo(f"warning: {result.config_folder} also holds {', '.join(result.other_clusters)}, the YAML of "
                   "another cluster: one CONFIG_FOLDER serves one cluster; move it to its own folder", err=True)
    _next_steps(result.config_folder)


def _next_steps(folder: Path) -> None:
    """What the admin does after the folder is written (docs/getting-started.md)."""
    has_inventory = (folder / "inventory.yaml").is_file()
    click.echo("next steps:")
    if not has_inventory:
        click.echo(f"  1. list the hosts: write {folder}/inventory.yaml (docs/configuration.md), or\n"
                   f"     maia-configure import-inventory inventory.ini --config-folder {folder}")
    else:
        click.echo(f"  1. hosts: {folder}/inventory.yaml is there (check it: maia validate --config-folder {folder})")
    click.echo(f"  2. Salt: a master with the maia ext_pillar (config_folder: {folder}) and minions whose ids are "
               "the inventory's host names, or a salt-ssh roster: maia roster --config-folder "
               f"{folder} -o roster (docs/getting-started.md)")
    click.echo("  3. check, then install: maia preflight, then maia install (add --ssh for salt-ssh)")


def _cluster_name(config_folder) -> str | None:
    """cluster_name of CONFIG_FOLDER/env.json, when maia-configure has written it already."""
    try:
        return json.loads((Path(config_folder) / "env.json").read_text(encoding="utf-8")).get("cluster_name")
    except (OSError, ValueError, AttributeError):
        return None


@click.command("import-inventory", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inventory", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host-vars", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of host_vars/<host>.yml files (default: host_vars beside INVENTORY).")
@click.option("--config-folder", default=checks.environ_default("CONFIG_FOLDER"), callback=checks.existing_config_folder,
              help="The site's CONFIG_FOLDER (written by maia-configure), where inventory.yaml goes "
                   "(default: $CONFIG_FOLDER).")
@click.option("--without-lvm", is_flag=True,
              help="The site turns LVM off (maia:prepare:lvm: false): device_list is not required.")
@click.option("--group-vars", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of the collection's group_vars (default: group_vars beside INVENTORY); "
                   "its all.yml and the INI's [all:vars] go to CONFIG_FOLDER/collection-vars.yaml.")
@click.option("--force", is_flag=True, help="Replace an inventory.yaml even when hosts or roles are dropped.")
def import_inventory_command(inventory, host_vars, config_folder, without_lvm, group_vars, force):
    """Convert an Ansible INI inventory (+ host_vars) into CONFIG_FOLDER/inventory.yaml,
    and the collection variables it sets for all hosts into collection-vars.yaml.

    The inventory passes the checks of the pillar render first, and each collection
    variable is honoured or refused by name; on a problem nothing is written and
    the exit code is 2. Over an existing inventory.yaml it shows what changes and
    needs --force to drop hosts or roles.
    """
    if host_vars is None and (inventory.parent / "host_vars").is_dir():
        host_vars = inventory.parent / "host_vars"
    try:
        site_vars = collection_vars.read_ansible_vars(inventory, group_vars)
        translated = collection_vars.translate(site_vars, config_folder, _cluster_name(config_folder),
                                               source=f"{inventory} [all:vars] / group_vars")
        lvm = not without_lvm and (translated.get("prepare") or {}).get("lvm", True)
        inv = import_ansible_inventory(inventory, host_vars, lvm_enabled=lvm)
        if not _replace_allowed(inv, config_folder / INVENTORY_FILE, force):
            sys.exit(EXIT_BAD_INPUT)
        path = write_inventory(inv, config_folder)
        if site_vars:
            collection_vars.write_file(site_vars, config_folder)
    except (InventoryError, FolderError, collection_vars.CollectionVarError) as exc:
        click.echo(f"error: {exc}", err=True)
        click.echo("Nothing was written.", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except OSError as exc:
        click.echo(f"error: {exc.filename or inventory}: {exc.strerror or exc}", err=True)
        click.echo("Nothing was written.", err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(f"wrote {path} ({len(inv.hosts)} hosts)")
    if site_vars:
        click.echo(f"wrote {Path(config_folder) / collection_vars.FILE} (collection variables the ext_pillar honours)")
    for name in collection_vars.unknown(site_vars):
        click.echo(f"note: {name} is not used by maia-salt (docs/migrating.md lists the variables it reads)")
    if lvm:
        click.echo(f"note: {LVM_ON_NOTE}")


def _replace_allowed(new, path: Path, force: bool) -> bool:
    """Show what the import changes in an existing inventory.yaml; False (nothing written) when it
    drops hosts or roles without ``force``."""
    if not path.exists():
        return True
    try:
        old = load_inventory(path)
    except InventoryError as exc:
        click.echo(f"note: the existing {path} is not valid ({exc}); it is replaced", err=True)
        return True
    change = diff(old, new)
    if change.empty:
        click.echo(f"{path}: no host or group changes", err=True)
        return True
    click.echo(f"changes to {path}:", err=True)
    for line in change.lines():
        click.echo(f"  {line}", err=True)
    if change.drops and not force:
        click.echo("error: this import drops hosts or roles from the site: check the INI file's group names and "
                   "hosts, or re-run with --force to drop them. Nothing was written.", err=True)
        return False
    return True


def main(argv: list[str] | None = None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "import-inventory":
        import_inventory_command.main(args=argv[1:], prog_name="maia-configure import-inventory")
    else:
        configure_command.main(args=argv, prog_name="maia-configure")


if __name__ == "__main__":
    main()
