"""The Ansible collection's variables under their own names, mapped onto maia-salt's pillar.

A site that migrates from the MAIA.Installation collection has set some of the
roles' variables (``ufw_allow_ssh``, ``nfs_mount_path``, ``microk8s_addons``, ...)
in its inventory (``[all:vars]``), ``group_vars/all.yml`` or on the command line.
Each variable of :data:`VARIABLES` is either honoured, translated into the
maia-salt pillar key it names, or refused by name with the maia-salt key to use
instead. Nothing else is read: a variable the table does not know is reported
by ``maia-configure import-inventory`` as not used.

Where they come from: ``maia-configure import-inventory`` writes the ones it finds
to ``CONFIG_FOLDER/collection-vars.yaml`` (collection names, as given); the
``maia`` ext_pillar reads that file and the ordinary pillar's
``maia:collection_vars`` (same names) and merges the translation under the
ordinary pillar's own ``maia:`` keys, which win (docs/migrating.md).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from .addresses import network
from .files import PlannedFile, commit_folder, dump_yaml, load_yaml_mapping
from .merge import deep_merge

FILE = "collection-vars.yaml"
PILLAR_KEY = "collection_vars"


class CollectionVarError(ValueError):
    """A collection variable that maia-salt refuses, or one with a value it cannot take."""


@dataclass(frozen=True)
class Honoured:
    key: str  # maia-salt pillar path under maia:, ':'-separated
    convert: Callable[[str, Any], Any]
    also: tuple = ()  # further keys that take the same value


@dataclass(frozen=True)
class Refused:
    key: str  # the maia-salt key to use instead
    reason: str


def _bool(name, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise CollectionVarError(f"{name}={value!r} is not a boolean (true/false)")


def _int(name, value, low=0, high=None):
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        raise CollectionVarError(f"{name}={value!r} is not a whole number{f' from {low} to {high}' if high else ''}")
    return number


def _count(name, value):
    return _int(name, value)


def _port(name, value):
    return _int(name, value, 1, 65535)


_PROTOS = ("tcp", "udp", "any")


def _proto(name, value):
    text = str(value).strip().lower()
    if text not in _PROTOS:
        raise CollectionVarError(f"{name}={value!r}: use one of {', '.join(_PROTOS)}")
    return text


def _path(name, value):
    text = str(value)
    if not text.startswith("/") or "\n" in text or "/../" in text + "/" or re.search(r"\s", text):
        raise CollectionVarError(f"{name}={value!r} is not an absolute path without spaces")
    return text.rstrip("/") or "/"


_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


def _account(name, value):
    text = str(value)
    if not _NAME.fullmatch(text):
        raise CollectionVarError(f"{name}={value!r} is not a user or group name")
    return text


def _mode(name, value):
    # YAML reads an unquoted 0777 as the number 511; Ansible takes a number as the mode's value too
    text = format(value, "o") if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o7777 else str(value).strip()
    if not re.fullmatch(r"0?[0-7]{3,4}", text):
        raise CollectionVarError(f"{name}={value!r} is not an octal mode such as '0777'")
    return text.zfill(4)


_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")


def _package(name, value):
    if not _PACKAGE.fullmatch(str(value)):
        raise CollectionVarError(f"{name}={value!r} is not a Debian package name")
    return [str(value)]


def _channel(name, value):
    text = str(value)
    if not re.fullmatch(r"[A-Za-z0-9.]+(/[A-Za-z0-9.-]+){0,2}", text):
        raise CollectionVarError(f"{name}={value!r} is not a snap channel such as 1.34/stable")
    return text


def _release_version(distribution, example):
    """The check of ``<distribution>_version``: one release by its name, as ``example`` (no 'latest')."""

    def check(name, value):
        text = str(value)
        if not re.fullmatch(r"v\d+\.\d+\.\d+\+" + distribution + r"\.?\d+", text):
            raise CollectionVarError(
                f"{name}={value!r} is not a {distribution} release such as {example}: maia-salt installs one "
                f"pinned release (no 'latest'); set maia:k8s:{distribution}:release:sha256 with it")
        return text

    return check


def _addons(name, value):
    if not isinstance(value, list) or not all(isinstance(a, str) and re.fullmatch(r"[a-z0-9][a-z0-9-]*", a) for a in value):
        raise CollectionVarError(f"{name} must be a list of MicroK8s addon names, e.g. [hostpath-storage, rbac]")
    return list(value)


def _firewall_ports(name, value):
    if not isinstance(value, list):
        raise CollectionVarError(f"{name} must be a list of {{port, proto}}, e.g. [{{port: 16443, proto: tcp}}]")
    ports = []
    for index, item in enumerate(value, 1):
        if not isinstance(item, dict) or "port" not in item:
            raise CollectionVarError(f"{name} item {index}: give port (and proto), e.g. {{port: 16443, proto: tcp}}")
        ports.append(f"{_port(f'{name} item {index} port', item['port'])}/{_proto(f'{name} item {index} proto', item.get('proto', 'tcp'))}")
    return ports


def _ufw_rules(name, value):
    """The collection's ``{port, proto, from_ip}`` rules as maia-salt's ``{port, proto, from}``."""
    if not isinstance(value, list):
        raise CollectionVarError(f"{name} must be a list of {{port, proto, from_ip}}")
    rules = []
    for index, item in enumerate(value, 1):
        where = f"{name} item {index}"
        if not isinstance(item, dict) or "port" not in item:
            raise CollectionVarError(f"{where}: give port and proto (from_ip optional), e.g. {{port: 6443, proto: tcp}}")
        unknown = sorted(set(item) - {"port", "proto", "from_ip"})
        if unknown:
            raise CollectionVarError(f"{where}: {', '.join(unknown)} not known: the collection's rules take port, proto, from_ip")
        rule = {"port": _port(f"{where} port", item["port"]), "proto": _proto(f"{where} proto", item.get("proto", "any"))}
        if item.get("from_ip") not in (None, "", "any"):
            if network(str(item["from_ip"])) is None:
                raise CollectionVarError(f"{where}: from_ip={item['from_ip']!r} is not an IP address or CIDR network")
            rule["from"] = str(item["from_ip"])
        rules.append(rule)
    return rules


# the k3s and k0s roles' SSH port-forward to the API
NO_TUNNEL = Refused("maia:k8s:api_server_url",
                    "maia-salt opens no SSH tunnel: the exported kubeconfig names the API server's own address")

# Every collection variable maia-salt knows, with what it does about it.
VARIABLES: dict[str, Honoured | Refused] = {
    # stage flags (prepare_hosts.yaml, install_microk8s.yaml, install_maia_core.yaml)
    **{flag: Honoured(f"prepare:{flag}", _bool) for flag in ("nvidia_drivers", "lvm", "ufw", "nfs", "cifs")},
    **{flag: Honoured(f"k8s:{flag}", _bool) for flag in (
        "install_microk8s", "enable_oidc_microk8s", "enable_ca", "install_argocd", "connect_to_microk8s", "connect_to_argocd")},
    "auto_sync": Honoured("core:auto_sync", _bool),
    # roles/ufw
    "ufw_enabled": Honoured("prepare:ufw", _bool),
    "ufw_allow_ssh": Honoured("prepare:ufw_allow_ssh", _bool),
    "ufw_ssh_port": Honoured("prepare:firewall:ssh_port", _port),
    "ufw_ssh_proto": Honoured("prepare:firewall:ssh_proto", _proto),
    "ufw_allow_inter_node_communication": Honoured("prepare:ufw_allow_inter_node", _bool),
    "ufw_additional_rules": Honoured("prepare:ufw_extra_rules", _ufw_rules),
    # roles/nfs (owner, group, mode: the export dir, and the clients' mount point unless
    # maia:prepare:nfs_mount:user/group/mode say otherwise)
    "nfs_export_path": Honoured("prepare:nfs_export:dir", _path, also=("core:nfs_path",)),
    "nfs_mount_path": Honoured("prepare:nfs_mount:dir", _path),
    "nfs_export_owner": Honoured("prepare:nfs_export:user", _account),
    "nfs_export_group": Honoured("prepare:nfs_export:group", _account),
    "nfs_export_mode": Honoured("prepare:nfs_export:mode", _mode),
    "nfs_mount_options": Honoured("prepare:nfs_mount_options", lambda n, v: str(v)),
    "nfs_export_options": Refused(
        "maia:prepare:nfs_export_options, maia:prepare:nfs_export_extra_clients",
        "the collection's value is client_spec(options), e.g. *(rw,...): maia-salt exports to the NFS clients' "
        "addresses only; give the options alone in nfs_export_options and extra clients in nfs_export_extra_clients"),
    # roles/nvidia_drivers
    "nvidia_driver_package": Honoured("prepare:pkgs:nvidia", _package),
    "nvidia_driver_reboot": Honoured("prepare:nvidia_reboot", _bool),
    "nvidia_driver_reboot_timeout": Honoured("prepare:nvidia_reboot_timeout", _count),
    # roles/microk8s
    "microk8s_version": Honoured("k8s:microk8s_channel", _channel),
    "microk8s_addons": Honoured("k8s:addons", _addons),
    "microk8s_firewall_ports": Honoured("k8s:firewall_ports", _firewall_ports),
    # install_k3s.yaml: roles/k3s, oidc_k3s
    **{flag: Honoured(f"k8s:{flag}", _bool) for flag in ("install_k3s", "enable_oidc_k3s", "connect_to_k3s")},
    "k3s_version": Honoured("k8s:k3s:version", _release_version("k3s", "v1.34.1+k3s1")),
    "k3s_firewall_ports": Honoured("k8s:k3s:firewall_ports", _firewall_ports),
    "k3s_data_dir": Honoured("k8s:k3s:paths:data_dir", _path),
    "k3s_config_dir": Honoured("k8s:k3s:paths:config_dir", _path),
    "install_k3s_script": Refused(
        "maia:k8s:k3s:release:url, maia:k8s:k3s:release:sha256",
        "maia-salt runs no install script: it installs the release binary, checksum checked (a local copy: a file:// URL)"),
    "k3s_enable_port_forwarding": NO_TUNNEL,
    # install_k0s.yaml: roles/k0s, oidc_k0s
    **{flag: Honoured(f"k8s:{flag}", _bool) for flag in ("install_k0s", "enable_oidc_k0s", "connect_to_k0s")},
    "k0s_version": Honoured("k8s:k0s:version", _release_version("k0s", "v1.34.2+k0s.0")),
    "k0s_firewall_ports": Honoured("k8s:k0s:firewall_ports", _firewall_ports),
    "k0s_data_dir": Honoured("k8s:k0s:paths:data_dir", _path),
    "k0s_etc_dir": Honoured("k8s:k0s:paths:config_dir", _path),
    "k0s_enable_port_forwarding": NO_TUNNEL,
    "k0s_port_forward_port": NO_TUNNEL,
    # roles/maia_core_layer
    "argocd_sync_retries": Honoured("core:sync:retries", _count),
    "argocd_sync_retry_delay": Honoured("core:sync:retry_interval", _count),
    # roles/argocd and roles/maia_core_layer both read it
    "extra_commands": Refused(
        "maia:k8s:argocd:extra_commands (stage 2, on the control-plane host), "
        "maia:core:extra_commands (after stage 3, on the controller)",
        "both the argocd and the maia_core_layer roles read this one name: put each command under the stage it belongs to"),
    # roles/cifs
    "volume_driver_path": Refused(
        "maia:prepare:cifs_plugin:dirs",
        "the flexVolume directory is chosen per distribution (docs/prepare.md says which one each kubelet reads)"),
}

# DEPLOY_KUBECONFIG is checked against the site (see _deploy_kubeconfig).
DEPLOY_KUBECONFIG = "DEPLOY_KUBECONFIG"


def _deploy_kubeconfig(value, config_folder, cluster_name) -> None:
    """The collection writes the controller's kubeconfig to DEPLOY_KUBECONFIG (relative:
    under CONFIG_FOLDER). maia-salt fetches it to one place: honoured when it names that
    place, refused by name otherwise."""
    fixed = os.path.join(str(config_folder), f"{cluster_name}-kubeconfig.yaml")
    given = str(value)
    given = given if os.path.isabs(given) else os.path.join(str(config_folder), given)
    if os.path.normpath(given) != os.path.normpath(fixed):
        raise CollectionVarError(
            f"{DEPLOY_KUBECONFIG}={value!r} is refused: maia-salt writes the controller's kubeconfig to {fixed} "
            f"only (maia_kubeconfig.fetch_kubeconfig; on the control-plane host it is maia:kubeconfig): "
            f"remove {DEPLOY_KUBECONFIG} or point it there"
        )


def _nested(path: str, value) -> dict:
    tree: dict = value
    for part in reversed(path.split(":")):
        tree = {part: tree}
    return tree


def translate(variables: dict, config_folder=None, cluster_name=None, source: str = "collection variables") -> dict:
    """The ``maia:`` pillar tree for ``variables`` (collection names). Raises
    CollectionVarError naming every refused or malformed variable; unknown names
    are left out (see :func:`unknown`)."""
    if not isinstance(variables, dict):
        raise CollectionVarError(f"{source}: must be a mapping of collection variable names to values")
    tree: dict = {}
    problems = []
    for name, value in variables.items():
        rule = VARIABLES.get(name)
        try:
            if name == DEPLOY_KUBECONFIG:
                if config_folder is not None and cluster_name:
                    _deploy_kubeconfig(value, config_folder, cluster_name)
            elif isinstance(rule, Refused):
                problems.append(f"{name} is refused: {rule.reason} (maia-salt: {rule.key})")
            elif isinstance(rule, Honoured):
                converted = rule.convert(name, value)
                for key in (rule.key, *rule.also):
                    tree = deep_merge(tree, _nested(key, converted))
        except CollectionVarError as exc:
            problems.append(str(exc))
    if problems:
        raise CollectionVarError(f"{source}: " + "; ".join(problems))
    return tree


def unknown(variables: dict) -> list[str]:
    """The names of ``variables`` that maia-salt neither honours nor refuses."""
    return sorted(n for n in variables if n not in VARIABLES and n != DEPLOY_KUBECONFIG)


def _read_mapping(path: Path) -> dict:
    """A YAML file of variable names to values ({} when empty)."""
    return load_yaml_mapping(path, CollectionVarError, "must hold a mapping of collection variable names to values")


def read_file(config_folder) -> dict:
    """CONFIG_FOLDER/collection-vars.yaml, or {} when there is none."""
    path = Path(config_folder) / FILE
    return _read_mapping(path) if path.is_file() else {}


def with_collection_vars(config_folder, overrides: dict, cluster_name=None) -> dict:
    """``overrides`` (the ordinary pillar's ``maia`` tree) over the translation of
    CONFIG_FOLDER/collection-vars.yaml and of ``overrides['collection_vars']``."""
    variables = dict(read_file(config_folder))
    variables.update(overrides.get(PILLAR_KEY) or {})
    if not variables:
        return overrides
    source = f"{Path(config_folder) / FILE} / pillar maia:{PILLAR_KEY}"
    return deep_merge(translate(variables, config_folder, cluster_name, source), overrides)


# ------------------------------------------------------------ import from Ansible


def _ini_all_vars(ini_path: Path) -> dict:
    """``[all:vars]`` of an INI inventory (values as YAML scalars, as Ansible reads them)."""
    variables, in_all_vars = {}, False
    for raw in ini_path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            in_all_vars = line[1:-1].strip() == "all:vars"
            continue
        if in_all_vars and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            try:
                variables[key] = yaml.safe_load(value)
            except yaml.YAMLError:
                variables[key] = value
    return variables


def read_ansible_vars(ini_path, group_vars_dir=None) -> dict:
    """The site-wide variables of a collection inventory: ``[all:vars]`` of the INI,
    then ``group_vars/all.yml`` (or ``all.yaml``, ``all/*.yml``) over them."""
    ini_path = Path(ini_path)
    variables = _ini_all_vars(ini_path)
    folder = Path(group_vars_dir) if group_vars_dir else ini_path.parent / "group_vars"
    files = [folder / "all.yml", folder / "all.yaml"]
    if (folder / "all").is_dir():
        files += sorted((folder / "all").glob("*.y*ml"))
    for path in files:
        if path.is_file():
            variables.update(_read_mapping(path))
    return variables


def write_file(variables: dict, config_folder) -> Path:
    """Write the variables maia-salt knows to CONFIG_FOLDER/collection-vars.yaml (0600: the
    collection keeps passwords beside them, none of which is written here)."""
    known = {k: v for k, v in variables.items() if k in VARIABLES or k == DEPLOY_KUBECONFIG}
    commit_folder(Path(config_folder), [PlannedFile(FILE, dump_yaml(known).encode(), 0o600)])
    return Path(config_folder) / FILE
