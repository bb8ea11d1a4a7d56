"""The configuration step: collect a site's values and write its CONFIG_FOLDER.

This is the logic behind ``maia-configure`` (also installed as
``MAIA_Configure_Installation.sh``). It writes the same files, keys and defaults
as the MAIA toolkit's ``MAIA_Configure_Installation.sh`` and re-runs on a folder
that script made. Values come from a given env.json, then the environment, then
the existing CONFIG_FOLDER, then prompts. Everything is validated before anything
is written, and the files are written all together or not at all (see
:func:`maia_salt.files.commit_folder`).

One module per concern, following the toolkit's script value by value (each with its prompt,
default and check): ``configure_values`` (the variables and where they come from),
``configure_checks`` (validation), ``configure_files`` (what is written); the file writing
itself lives in ``maia_salt.files`` and the inventory in ``maia_salt.inventory``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import cluster_guard
from . import realm as realm_source
from .configure_checks import ConfigError, validate  # noqa: F401  (ConfigError: the CLI's)
from .configure_files import _realm_is_kept, plan_files
from .configure_values import FOLDER_MODE, Prompter, collect_values, read_existing
from .files import CommitReport, FolderError, check_folder, commit_folder

@dataclass
class Result:
    config_folder: Path
    written: list[str]
    changed: list[str]
    modes: list[tuple[str, int, int]] = field(default_factory=list)
    atomic: bool = True
    other_clusters: list[str] = field(default_factory=list)  # other cluster YAMLs found in the folder


def configure(
    env_json: Path | None,
    environ: dict,
    prompter: Prompter | None,
    cifs_key: bool | None,
    ask_cifs: Callable[[], bool] | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    realm_template: str | None = None,
) -> Result:
    """Collect, validate and write. Raises ConfigError before any write on bad input."""
    values, existing = collect_values(env_json, environ, prompter)
    validate(values)
    folder = Path(values["CONFIG_FOLDER"]).resolve()
    values["CONFIG_FOLDER"] = str(folder)
    try:
        check_folder(folder)
    except FolderError as exc:
        raise ConfigError([str(exc)])
    if env_json is None and not existing.env and folder.is_dir():
        existing = read_existing(folder, values["CLUSTER_NAME"])
    problems = cluster_guard.name_problems(folder, existing.env.get("cluster_name"), values["CLUSTER_NAME"])
    if problems:
        raise ConfigError(problems)
    if cifs_key is None:
        if existing.cifs_private_pem:
            cifs_key = True
        elif ask_cifs is not None:
            cifs_key = ask_cifs()
        else:
            cifs_key = False
    if cifs_key and not existing.cifs_private_pem:
        progress("generating the CIFS RSA-4096 key pair")
    realm = None
    if not _realm_is_kept(existing.realm):
        try:
            realm = realm_source.realm_template(environ, realm_template)
        except realm_source.RealmError as exc:
            raise ConfigError([str(exc)])
    planned = plan_files(values, existing, cifs_key, realm)
    try:
        report: CommitReport = commit_folder(folder, planned, FOLDER_MODE)
    except FolderError as exc:
        raise ConfigError([str(exc)])
    return Result(folder, [p.name for p in planned], report.changed, report.modes, report.atomic,
                  other_clusters=cluster_guard.other_clusters(folder, values["CLUSTER_NAME"]))
