"""Argument checks of the ``maia`` and ``maia-configure`` commands, made before anything runs.

Each check is a click callback: a bad value stops the command with click's usage error
(exit code 2), naming the option, the value and the fix, before Salt is contacted or a
file is written. No check creates a folder.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import click

from . import parameters

def _stages() -> tuple[str, ...]:
    """orch.maia's stages in order, from formulas/maia/parameters/defaults.yaml (written once there)."""
    try:
        return tuple(parameters.defaults()["stages"])
    except parameters.ParametersError:  # a package installed without its formulas/: the shipped order
        return ("prepare", "k8s", "core", "admin")


INSTALL_STAGES = _stages()
RESET_STAGES = tuple(reversed(INSTALL_STAGES))  # orch.maia_reset's order: last installed, first removed


def _near(value: str, known) -> str:
    close = difflib.get_close_matches(value, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def stage_list(text: str | None, known, param_hint: str = "--stages") -> list[str] | None:
    """``a,b`` -> ``["a", "b"]``, each one of ``known``; None when not given."""
    if text is None:
        return None
    stages = [s.strip() for s in text.split(",") if s.strip()]
    if not stages:
        raise click.BadParameter(f"no stage named: use a comma-separated subset of {','.join(known)}",
                                 param_hint=param_hint)
    unknown = [s for s in stages if s not in known]
    if unknown:
        hints = "".join(_near(s, known) for s in unknown)
        raise click.BadParameter(f"unknown stage(s) {', '.join(unknown)}{hints}: use a comma-separated subset of "
                                 f"{','.join(known)}", param_hint=param_hint)
    return stages


def install_stages(_ctx, _param, value):
    return stage_list(value, INSTALL_STAGES)


def reset_stages(_ctx, _param, value):
    return stage_list(value, RESET_STAGES)


def salt_config_folder(_ctx, param, value):
    """The master-side Salt configuration folder: it must exist and hold a ``master`` file."""
    folder = Path(value)
    hint = "/".join(param.opts) if param is not None else "--salt-config"
    if not folder.is_dir():
        raise click.BadParameter(
            f"{value}: no such folder: give the folder holding the Salt master configuration (the file 'master'), "
            f"e.g. -c /etc/salt, or set SALT_CONFIG_DIR", param_hint=hint)
    if not (folder / "master").is_file():
        raise click.BadParameter(
            f"{value}: holds no file 'master': give the Salt configuration folder of the master side "
            f"(the one salt-run -c takes)", param_hint=hint)
    return str(folder)


def existing_config_folder(_ctx, param, value):
    """CONFIG_FOLDER as given (or $CONFIG_FOLDER): it must be there already; commands other than
    ``maia-configure`` never create it (a misspelt path must not become a new, empty site)."""
    hint = "/".join(param.opts) if param is not None else "--config-folder"
    if value in (None, ""):
        raise click.BadParameter(
            "no CONFIG_FOLDER: give --config-folder DIR or export CONFIG_FOLDER=DIR (the folder maia-configure wrote)",
            param_hint=hint)
    folder = Path(value)
    if not folder.is_dir():
        raise click.BadParameter(
            f"{value}: no such folder: check the path, or write the site first with maia-configure "
            f"(it creates CONFIG_FOLDER)", param_hint=hint)
    return folder


def optional_config_folder(ctx, param, value):
    """As :func:`existing_config_folder`, but the option may be left out."""
    return None if value in (None, "") else existing_config_folder(ctx, param, value)


def output_file(_ctx, param, value):
    """A file to write: its folder must exist (no folder is created for it)."""
    if value is None:
        return None
    path = Path(value)
    parent = path.parent if str(path.parent) else Path(".")
    hint = "/".join(param.opts) if param is not None else "--output"
    if not parent.is_dir():
        raise click.BadParameter(f"{value}: the folder {parent} does not exist: create it first or write elsewhere",
                                 param_hint=hint)
    if path.is_dir():
        raise click.BadParameter(f"{value} is a folder: give a file name", param_hint=hint)
    return path


def environ_default(name: str):
    """A click default read from the environment when the command runs (None when unset or empty)."""
    return lambda: os.environ.get(name) or None
