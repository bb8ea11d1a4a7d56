"""Rancher's API token and the local cluster's kubeconfig, kept in the controller's CONFIG_FOLDER.

The collection's ``get_kubeconfig_from_rancher_local`` role (and the EULA step of
``configure_oidc_authentication``), done over Rancher's v3 API by ``maia_salt.rancher``
(docs/admin.md, "Rancher"). ``orch.maia`` runs it after the admin stage; by hand::

    salt-run maia_rancher.local_kubeconfig maia-node-0
    salt-run maia_rancher.local_kubeconfig maia-node-0 test=True

It writes ``CONFIG_FOLDER/local.yaml`` and env.json's ``rancher_token`` (both 0600, as one
atomic write: both or neither), and only when the recorded token no longer works. Rancher is
reached as the control-plane host reaches the other services (``maia:admin:services``; the
host library ``maia_service_endpoint`` from the master's file_roots): ``https://mgmt.<domain>``
over TLS verified against ``services:ca_pem``, else the site's ``externalCA``, else with
``selfsigned`` the cluster CA stage 2 exported (CONFIG_FOLDER/ca.crt), else the system's store;
where the name does not resolve, at ``services:address`` or the inventory address of ``tgt``.

The return names files, sha256 digests and settings; never the token or the password.
"""
import hashlib
import importlib.util
import json
import os
from pathlib import Path

import yaml
from salt.exceptions import SaltRunnerError

__virtualname__ = "maia_rancher"

LOCAL_YAML = "local.yaml"
ENV_JSON = "env.json"


def __virtual__():
    return __virtualname__


def _config_folder(config_folder):
    from maia_salt.app_status import config_folder as of_ext_pillar

    folder = config_folder or of_ext_pillar(__opts__)
    if not folder:
        raise SaltRunnerError("No CONFIG_FOLDER: pass config_folder=DIR or configure ext_pillar [{maia: {config_folder: DIR}}]")
    return folder


def _endpoint_library():
    """The host library ``maia_service_endpoint``, from the master's file_roots (else this checkout)."""
    roots = [r for r in (__opts__.get("file_roots") or {}).get("base") or [] if isinstance(r, str)]
    for root in [*roots, str(Path(__file__).resolve().parents[1])]:
        path = Path(root, "_utils", "maia_service_endpoint.py")
        if path.is_file():
            spec = importlib.util.spec_from_file_location("maia_service_endpoint", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise SaltRunnerError("_utils/maia_service_endpoint.py is in none of file_roots: serve maia-salt's formulas/")


def _read_site(folder):
    try:
        env = json.loads(Path(folder, ENV_JSON).read_text(encoding="utf-8"))
        cluster = yaml.safe_load(Path(folder, f"{env['cluster_name']}.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise SaltRunnerError(f"{folder}: cannot read env.json and the cluster YAML ({type(exc).__name__}): "
                              "run maia-configure") from None
    if not isinstance(env.get("rancher_password"), str) or not env["rancher_password"]:
        raise SaltRunnerError(f"{folder}/env.json has no rancher_password: re-run maia-configure; nothing written")
    if not isinstance(cluster, dict) or not cluster.get("domain"):
        raise SaltRunnerError(f"{folder}: the cluster YAML has no domain; nothing written")
    return env, cluster


def _ca_pem(folder, cluster, services):
    if services.get("ca_pem"):
        return services["ca_pem"]
    external = cluster.get("externalCA")
    path = external.get("cert") if isinstance(external, dict) else None
    if not path and cluster.get("selfsigned"):
        path = os.path.join(folder, "ca.crt")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SaltRunnerError(f"cannot read the CA to verify Rancher with ({path}: {exc.strerror})") from None


def _address(folder, tgt, services):
    if services.get("address") or not tgt:
        return services.get("address") or None
    from maia_salt.inventory import INVENTORY_FILE, InventoryError, load_inventory

    try:
        host = load_inventory(os.path.join(folder, INVENTORY_FILE)).hosts.get(tgt)
    except (OSError, InventoryError):
        host = None
    return host.address if host is not None else None


def _read(path):
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def local_kubeconfig(tgt=None, config_folder=None, services=None, test=False, timeout=30):
    """
    Keep Rancher's token and ``local.yaml`` in ``config_folder`` (module docstring).
    Returns ``{"token": "kept"|"replaced"|"would be replaced", "settings": {name: {old, new}},
    "files": {path: {"sha256", "changed", "existed"}}}``; with ``test`` and a token to replace,
    ``files`` names the two files that would be written (``{"changed": True, "existed"}``).

    tgt
        the control-plane host (its inventory address is where Rancher's ingress answers
        when ``mgmt.<domain>`` does not resolve)
    services
        ``maia:admin:services`` ({address, port, ca_pem}); default: port 443, the site's CA
    """
    from maia_salt import files, rancher

    folder = _config_folder(config_folder)
    services = dict(services or {})
    env, cluster = _read_site(folder)
    mse = _endpoint_library()
    cache = os.path.join(__opts__.get("cachedir") or folder, "maia-services")
    try:
        end = mse.service_endpoint(f"mgmt.{cluster['domain']}", port=int(services.get("port") or 443),
                                   ca_pem=_ca_pem(folder, cluster, services), address=_address(folder, tgt, services),
                                   cache_dir=cache)
    except ValueError as exc:
        raise SaltRunnerError(f"cannot reach Rancher: {exc}") from None
    api = rancher.Rancher(mse.session(end), end.base_url, timeout)
    local_path = Path(folder, LOCAL_YAML)
    recorded = str(env.get("rancher_token") or "") or None
    try:
        outcome = rancher.converge(api, env["rancher_password"], recorded, _read(local_path), test=bool(test))
    except rancher.RancherError as exc:
        raise SaltRunnerError(str(exc)) from None
    ret = {"token": "kept", "settings": outcome.settings, "files": {}}
    existed = {name: Path(folder, name).exists() for name in (LOCAL_YAML, ENV_JSON)}
    if outcome.token_replaced:
        ret["token"] = "would be replaced" if test else "replaced"
    if outcome.token_replaced and test:  # a new token goes into both files
        ret["files"] = {os.path.join(folder, name): {"changed": True, "existed": existed[name]} for name in existed}
    if outcome.kubeconfig is not None and not test:
        env["rancher_token"] = outcome.token
        planned = [files.PlannedFile(LOCAL_YAML, outcome.kubeconfig.encode(), 0o600),
                   files.PlannedFile(ENV_JSON, (json.dumps(env, indent=2) + "\n").encode(), 0o600)]
        changed = files.write_files_atomically(Path(folder), planned)
        for item in planned:
            ret["files"][os.path.join(folder, item.name)] = {
                "sha256": hashlib.sha256(item.content).hexdigest(), "changed": item.name in changed,
                "existed": existed[item.name]}
    return ret
