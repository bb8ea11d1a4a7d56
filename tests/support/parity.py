"""What the parity tests of stage 3 and stage 4 share: the reference's virtualenv,
the sites they compare on, and the path-for-path comparison.

The reference is maia-toolkit 2.5.0 from PyPI, installed ``--no-deps`` with the
libraries its value builders import (``REFERENCE_LIBS``) into a throwaway
virtualenv, made once and kept in pytest's cache directory. Nothing of the
toolkit is stored in this repository.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

TOOLKIT = "maia-toolkit==2.5.0"
# MAIA/maia_core.py needs the first four; MAIA/maia_admin.py also imports pyhelm3 and,
# through MAIA/maia_fn.py, kubernetes, nltk, toml, minio and click (none is called
# by the value builders, but the modules must import)
REFERENCE_LIBS = ["omegaconf", "loguru", "requests", "PyYAML", "pyhelm3", "nltk", "toml", "minio", "click",
                  "kubernetes"]


def _reference_root(request, tmp_path_factory) -> Path:
    """Where the reference's virtualenv is kept: pytest's cache directory; with the cache off
    (CI runs ``-p no:cacheprovider``), under xdist the run's base temporary folder, which both
    workers share (so the stage 3 and stage 4 parity tests build it once, not once a worker),
    else the session's."""
    cache = getattr(request.config, "cache", None)
    if cache:
        return Path(cache.mkdir("maia-toolkit-2.5.0"))
    if hasattr(request.config, "workerinput"):  # an xdist worker: its basetemp is <run's basetemp>/popen-gwN
        root = tmp_path_factory.getbasetemp().parent / "maia-toolkit-2.5.0"
        root.mkdir(exist_ok=True)
        return root
    return tmp_path_factory.mktemp("maia-toolkit")


@pytest.fixture(scope="session")
def reference_python(request, tmp_path_factory):
    """Python of a virtualenv with maia-toolkit 2.5.0 and ``REFERENCE_LIBS`` (made once, see
    ``_reference_root``; made again when the library list changed). A lock file keeps a second
    worker waiting while the first one makes it."""
    root = _reference_root(request, tmp_path_factory)
    python = root / "venv" / "bin" / "python"
    done = root / "complete"
    wanted = "\n".join([TOOLKIT, *REFERENCE_LIBS]) + "\n"
    with open(root / ".lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists() or done.read_text() != wanted:
            venv.EnvBuilder(with_pip=True, clear=True).create(root / "venv")
            pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            for args in (["--no-deps", TOOLKIT], REFERENCE_LIBS):
                result = subprocess.run(pip + args, capture_output=True, text=True, check=False)
                if result.returncode:
                    pytest.fail(f"cannot install the reference ({' '.join(args)}; PyPI needed):\n"
                                f"{result.stderr[-2000:]}")
            done.write_text(wanted)
    return str(python)


def toolkit_source(python: str) -> Path:
    """The folder of the installed ``MAIA`` package of the reference."""
    out = subprocess.run([python, "-c", "import MAIA, os; print(os.path.dirname(MAIA.__file__))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return Path(out)


def run_reference(python: str, runner: Path, cases: list[dict]) -> list[dict]:
    """Run a reference runner on ``cases`` (JSON on stdin) and return its JSON answer."""
    result = subprocess.run([python, str(runner)], input=json.dumps(cases),
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


INVENTORY = {
    "hosts": {
        "maia-node-0": {"address": "198.18.0.11", "groups": ["control-plane", "nfs_server"],
                        "vars": {"device_list": ["/dev/loop3"], "local_storage_size": "50%FREE"}},
        "maia-node-1": {"address": "198.18.0.12", "groups": ["nfs_clients"],
                        "vars": {"device_list": ["/dev/loop4"]}},
        "maia-node-2": {"address": "198.18.0.13", "groups": ["nfs_clients"],
                        "vars": {"device_list": ["/dev/loop5"]}},
    }
}


def configure_site(folder: Path, distribution: str, registry: str = "") -> None:
    """A CONFIG_FOLDER made by ``maia-configure`` (non-interactive), with an inventory."""
    env = dict(
        os.environ,
        CLUSTER_DOMAIN="maia.example.com",
        CLUSTER_NAME="maia-cluster",
        CONFIG_FOLDER=str(folder),
        INGRESS_RESOLVER_EMAIL="admin@example.com",
        K8S_DISTRIBUTION=distribution,
        MAIA_PRIVATE_REGISTRY=registry,
    )
    if registry:
        env.update(HARBOR_USERNAME="robot", HARBOR_PASSWORD="reg-Secret-0004")
    cli = Path(sys.executable).with_name("maia-configure")
    subprocess.run([str(cli), "--non-interactive", "--cifs-key", "no"], env=env, check=True,
                   capture_output=True, text=True)
    (folder / "inventory.yaml").write_text(yaml.safe_dump(INVENTORY))
    # stage 2 exports the cluster CA here (rootCA); a placeholder PEM stands in for it
    (folder / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMAIA-PARITY-TEST\n-----END CERTIFICATE-----\n")


def site_pillar_of(folder: Path, cluster_extra: dict) -> dict:
    """The ``maia`` pillar of the control-plane host, after adding ``cluster_extra`` to the cluster YAML."""
    from maia_salt.pillar_map import site_pillar

    env = json.loads((folder / "env.json").read_text())
    cluster_file = folder / f"{env['cluster_name']}.yaml"
    cluster = yaml.safe_load(cluster_file.read_text())
    cluster.update(cluster_extra)
    cluster_file.write_text(yaml.safe_dump(cluster))
    return site_pillar(folder, "maia-node-0")["maia"]


def flatten(value, prefix=""):
    """``{dotted path: leaf}``; lists index as ``[i]``; empty mappings and lists are leaves."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out or {prefix: []}
    return {prefix: value}


def deliberate_id(deliberate: dict, component: str, path: str):
    """The id of the deliberate difference (``{id: (component regex, path regex, reason)}``) that covers a path."""
    for ident, (components, paths, _reason) in deliberate.items():
        if re.fullmatch(components, component) and re.fullmatch(paths, path):
            return ident
    return None


def compare_paths(reference: dict, ours: dict, component: str, deliberate: dict, allowed_ids: set,
                  random_paths=frozenset()) -> list[str]:
    """Every path missing, extra or different, except deliberate (``allowed_ids``) and random ones."""
    ref, mine = flatten(reference), flatten(ours)
    problems = []
    for path in sorted(set(ref) | set(mine)):
        if deliberate_id(deliberate, component, path) in allowed_ids:
            continue
        if path not in mine:
            problems.append(f"{component}: {path} missing (reference: {ref[path]!r})")
        elif path not in ref:
            problems.append(f"{component}: {path} extra (ours: {mine[path]!r})")
        elif (component, path) in random_paths:
            continue
        elif ref[path] != mine[path]:
            problems.append(f"{component}: {path} differs: reference {ref[path]!r}, ours {mine[path]!r}")
    return problems


def cluster_keys_read(text: str) -> set[str]:
    """The cluster YAML keys a toolkit module reads (``cluster_config_dict[...]``, ``... in``, ``.get``)."""
    read = set(re.findall(r"cluster_config_dict\[[\"']([A-Za-z0-9_]+)[\"']\]", text))
    read |= set(re.findall(r"[\"']([A-Za-z0-9_]+)[\"'] in cluster_config_dict", text))
    read |= set(re.findall(r"cluster_config_dict\.get\([\"']([A-Za-z0-9_]+)[\"']", text))
    return read
