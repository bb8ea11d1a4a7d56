"""``maia backup`` and ``maia restore``: the command line of :mod:`maia_salt.backup`, registered on
``maia`` by cli.py. The passphrase comes from a file (``-``: standard input) or a hidden prompt,
never from an argument (the process list shows those) and never from the archive's folder."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import checks, cli

_PASSPHRASE_FILE = click.option(
    "--passphrase-file", type=click.File("r"), default=None,
    help="Read the archive's passphrase from this file ('-': standard input); default: ask for it. "
         "Keep it away from the archive.")


def _passphrase(handle, archive: Path, confirm: bool) -> str:
    from .backup import BackupError, check_passphrase

    if handle is None:
        text = click.prompt("passphrase of the archive", hide_input=True, confirmation_prompt=confirm, err=True)
    else:
        name = getattr(handle, "name", "-")
        if name not in ("-", "<stdin>") and Path(os.path.realpath(name)).parent == Path(os.path.realpath(archive)).parent:
            raise click.BadParameter(f"{name} is in the archive's folder: keep the passphrase away from the archive "
                                     "(another disk or a password manager)", param_hint="--passphrase-file")
        text = handle.readline().rstrip("\r\n")
    try:
        return check_passphrase(text)
    except BackupError as exc:
        raise click.BadParameter(str(exc), param_hint="--passphrase-file")


def _or_exit(action, *args, code: int = 2):
    """``action(*args)``; its BackupError (the message says why and that nothing was written) exits
    ``code``: 2 for bad input, 1 when a host failed."""
    from .backup import BackupError

    try:
        return action(*args)
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(code)


def _or_exit_2(action, *args):
    return _or_exit(action, *args, code=2)


@cli.main.command()
@click.option("--config-folder", default=checks.environ_default("CONFIG_FOLDER"), callback=checks.existing_config_folder,
              help="The site's CONFIG_FOLDER (default: $CONFIG_FOLDER).")
@click.option("-o", "--output", required=True, callback=checks.output_file, help="The archive to write (0600).")
@_PASSPHRASE_FILE
@click.option("-c", "--salt-config", default=lambda: os.environ.get("SALT_CONFIG_DIR", "/etc/salt"),
              show_default="$SALT_CONFIG_DIR or /etc/salt",
              help="Salt configuration folder of the master side (not read with --config-only).")
@cli._SSH  # pylint: disable=protected-access
@click.option("--config-only", is_flag=True,
              help="CONFIG_FOLDER alone: no datastore snapshot and CA from the control plane (no Salt needed).")
def backup(config_folder, output, passphrase_file, salt_config, ssh, config_only):
    """Write one encrypted archive of the site: CONFIG_FOLDER with its secrets, the exported
    kubeconfig and CA, and the control plane's datastore snapshot and cluster CA key (MicroK8s
    dbctl backup; k3s: its datastore, token and CAs). AES-256-GCM, key from the passphrase through scrypt."""
    from .backup import backup as write_backup
    from .backup import control_plane, fetch_cluster
    from .install import master_opts

    folder = Path(os.path.realpath(config_folder))
    if Path(os.path.realpath(output)).is_relative_to(folder):
        raise click.BadParameter(f"{output} is inside CONFIG_FOLDER: write the archive elsewhere", param_hint="--output")
    passphrase = _passphrase(passphrase_file, output, confirm=True)
    fetch = None
    if not config_only:
        salt_config = checks.salt_config_folder(None, None, salt_config)
        host = _or_exit_2(control_plane, folder)
        opts = master_opts(salt_config)
        click.echo(f"taking the datastore snapshot and CA of {host} ({'salt-ssh' if ssh else 'minion'}) ...", err=True)
        fetch = lambda contents: fetch_cluster(contents, opts, host, ssh)  # noqa: E731
    contents = _or_exit(write_backup, folder, output, passphrase, fetch, code=1 if fetch else 2)
    cluster = f", the datastore snapshot and CA of {contents.manifest['cluster']['host']}" if contents.cluster else ""
    click.echo(f"wrote {output} (0600): {len(contents.files)} files of {folder}{cluster}, encrypted; keep the "
               "passphrase apart from it", err=True)


@cli.main.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config-folder", default=checks.environ_default("CONFIG_FOLDER"), required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="The CONFIG_FOLDER to write: new or empty (default: $CONFIG_FOLDER).")
@click.option("--cluster-to", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Also write the datastore snapshot and the cluster CA (0600) into this existing folder, for a "
                   "rebuilt control plane.")
@_PASSPHRASE_FILE
def restore(archive, config_folder, cluster_to, passphrase_file):
    """Put a `maia backup` archive back into an empty (or new) CONFIG_FOLDER; a wrong passphrase
    writes nothing."""
    from .backup import restore as read_backup

    passphrase = _passphrase(passphrase_file, archive, confirm=False)
    names = _or_exit_2(read_backup, archive, config_folder, passphrase, cluster_to)
    click.echo(f"restored {len(names)} files into {config_folder}" + (f" and {cluster_to}" if cluster_to else ""),
               err=True)
