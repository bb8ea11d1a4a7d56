"""The site's own commands after the MAIA core layer, on the machine that runs the installation.

The collection's ``maia_core_layer`` role runs its ``extra_commands`` after the core
layer on the Ansible controller, with ``KUBECONFIG`` set to the controller's copy of
the cluster's kubeconfig. maia-salt's controller is the master (or the machine that
runs salt-ssh): ``orch.maia`` calls :func:`core_extra_commands` after stage 3, and the
commands run here, in this runner's process, with ``KUBECONFIG`` set to
``<CONFIG_FOLDER>/<cluster_name>-kubeconfig.yaml`` (what ``maia_kubeconfig.fetch_kubeconfig``
wrote after stage 2). Stage 2's ``maia:k8s:argocd:extra_commands`` run elsewhere: on
the control-plane host (docs/core.md says why).

The commands come from the site's configuration only: ``maia:core:extra_commands`` of
the pillar the master compiles for itself (the maia ext_pillar and pillar_roots),
never from this runner's arguments or a command line's ``pillar=``. Each is one command
line split as a shell would split it but run without a shell (as the collection's
``ansible.builtin.command``); ``{name, env, cwd}`` adds variables or a folder. Their
output is not returned nor logged (a command may print a token); a failed command is
named by its position and program, with its exit code.

CLI example::

    salt-run maia_commands.core_extra_commands
"""
import logging
import os
import shlex
import subprocess

from salt.exceptions import SaltRunnerError

log = logging.getLogger(__name__)

__virtualname__ = "maia_commands"

TIMEOUT = 600


def __virtual__():
    return __virtualname__


def _site_pillar():
    """The master's own pillar, compiled from the site's configuration (no override)."""
    import salt.pillar

    pillar = salt.pillar.get_pillar(__opts__, __opts__.get("grains", {}), __opts__["id"],
                                    saltenv=__opts__.get("saltenv") or "base").compile_pillar()
    return pillar.get("maia", {}) if isinstance(pillar, dict) else {}


def _command(entry, index):
    """``(argv, env, cwd)`` of one entry: a command line, or ``{name, env, cwd}``."""
    spec = entry if isinstance(entry, dict) else {"name": entry}
    line = spec.get("name")
    if not isinstance(line, str) or not line.strip():
        raise SaltRunnerError(f"maia:core:extra_commands item {index}: give a command line (a string, or name: ...)")
    env = spec.get("env") or {}
    if not isinstance(env, dict):
        raise SaltRunnerError(f"maia:core:extra_commands item {index}: env must be a mapping")
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise SaltRunnerError(f"maia:core:extra_commands item {index}: cannot be split ({exc})") from None
    return argv, {str(k): str(v) for k, v in env.items()}, spec.get("cwd")


def core_extra_commands(timeout=TIMEOUT):
    """
    Run the site's ``maia:core:extra_commands`` here, one after the other, with
    ``KUBECONFIG`` set to the kubeconfig fetched into CONFIG_FOLDER. Stops at the first
    that fails. Returns ``{"kubeconfig": path, "commands": [{"program", "exit"}]}``.

    CLI Example:

    .. code-block:: bash

        salt-run maia_commands.core_extra_commands
    """
    maia = _site_pillar()
    entries = (maia.get("core") or {}).get("extra_commands") or []
    if not isinstance(entries, list):
        raise SaltRunnerError("maia:core:extra_commands must be a list of command lines")
    folder = maia.get("config_folder") or ""
    cluster = (maia.get("cluster") or {}).get("cluster_name") or (maia.get("env") or {}).get("cluster_name")
    kubeconfig = os.path.join(folder, f"{cluster}-kubeconfig.yaml") if folder and cluster else ""
    commands = [_command(entry, index) for index, entry in enumerate(entries, 1)]
    if commands and not os.path.isfile(kubeconfig):
        raise SaltRunnerError(
            f"maia:core:extra_commands: no kubeconfig at {kubeconfig or '<CONFIG_FOLDER>/<cluster_name>-kubeconfig.yaml'}: "
            "run stage 2 first (orch.maia fetches it with maia_kubeconfig.fetch_kubeconfig)"
        )
    done = []
    for index, (argv, env, cwd) in enumerate(commands, 1):
        program = os.path.basename(argv[0])
        log.info("maia:core:extra_commands: running item %s (%s)", index, program)
        try:
            proc = subprocess.run(argv, env={**os.environ, **env, "KUBECONFIG": kubeconfig}, cwd=cwd or folder,
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=float(timeout), check=False)
            code = proc.returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = f"timed out after {timeout}s" if isinstance(exc, subprocess.TimeoutExpired) else exc.strerror
            raise SaltRunnerError(f"maia:core:extra_commands item {index} of {len(commands)} ({program}): {reason}") from None
        done.append({"program": program, "exit": code})
        if code != 0:
            raise SaltRunnerError(
                f"maia:core:extra_commands item {index} of {len(commands)} ({program}) failed with exit {code}; "
                "its output is not shown (it may hold credentials): run it by hand with the same KUBECONFIG"
            )
    return {"kubeconfig": kubeconfig, "commands": done}
