"""Bring the control plane's exported kubeconfig and CA to the machine that runs the installation.

``maia.k8s.microk8s.export`` writes ``<CLUSTER_NAME>-kubeconfig.yaml`` and
``ca.crt`` (0600) into ``maia:config_folder`` on the control-plane host. This
runner asks the host for them (``maia_microk8s.export_bundle``, over the
master's bus, or over SSH with ``ssh=True``) and writes them into the
CONFIG_FOLDER on this side. It returns paths and sha256 digests only.

CLI examples::

    salt-run maia_kubeconfig.fetch_kubeconfig maia-node-0
    salt-run maia_kubeconfig.fetch_kubeconfig maia-node-0 ssh=True roster_file=/opt/maia/config/roster
    salt-run maia_kubeconfig.fetch_kubeconfig maia-node-0 config_folder=/opt/maia/config

What a host says cannot write on the master:

- The runner sends a fresh X25519 public key; the host returns the pair
  encrypted to it. The job return (and so the master's job cache, event bus
  and the minion's log) holds ciphertext only; the private key stays in this
  process.
- The file names are fixed here (``<cluster_name>-kubeconfig.yaml`` from the
  CONFIG_FOLDER's env.json, checked to be a DNS label, and ``ca.crt``); nothing
  the host returns becomes a path.
- The pair is written into a new version directory
  ``CONFIG_FOLDER/.maia-kube/v-*`` (files opened ``O_CREAT|O_EXCL|O_NOFOLLOW``,
  0600, fsynced), and ``.maia-kube/current`` is switched to it by one atomic
  rename of a symlink. ``<cluster_name>-kubeconfig.yaml`` and ``ca.crt`` in
  CONFIG_FOLDER are symlinks into ``.maia-kube/current``: at every instant
  they show the old pair or the new pair, never one of each. Regular files
  from an earlier layout are first moved into a version directory of their own
  and linked, so that the switch to links changes no content.

After the pair is written, the sha256 of the payload the host sent (before it is checked and
rebuilt here) is recorded in ``.maia-kube/exported-<host>.sha256``. orch.maia passes it to the
host's stage 2 (pillar ``maia:orch:exported``), whose last export state
(``maia_microk8s.export_compared``) reports a change only when the host exports something else
now; the fetch step runs only on a change of stage 2 (docs/orchestration.md). A digest, never
content.

What a host says cannot run on the master: the kubeconfig is checked and
rebuilt (``maia_salt.kubeconfig_check``) before it is written: one cluster and
one user, data fields only, ``server`` the control plane's inventory address
and API port (or ``api_server_url`` when the site sets one). A kubeconfig with
``exec``, ``auth-provider``, ``tokenFile``, a file path, ``proxy-url`` or
``insecure-skip-tls-verify`` is refused, naming the host and the field, and
nothing is written.
"""
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile

from salt.exceptions import SaltRunnerError

from maia_salt import sealed

log = logging.getLogger(__name__)

__virtualname__ = "maia_kubeconfig"

PAIR_DIR = ".maia-kube"
CURRENT = "current"
CA_NAME = "ca.crt"
_CLUSTER_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


def __virtual__():
    return __virtualname__


def _config_folder(config_folder):
    if config_folder:
        return config_folder
    for entry in __opts__.get("ext_pillar") or []:
        if isinstance(entry, dict) and "maia" in entry:
            conf = entry["maia"]
            if isinstance(conf, dict) and conf.get("config_folder"):
                return conf["config_folder"]
            if isinstance(conf, str):
                return conf
    raise SaltRunnerError(
        "No CONFIG_FOLDER: pass config_folder=DIR or configure ext_pillar [{maia: {config_folder: DIR}}]"
    )


def _cluster_name(folder, given=None):
    """The cluster name of the CONFIG_FOLDER (env.json), which names the kubeconfig file."""
    name = given
    if name is None:
        try:
            with open(os.path.join(folder, "env.json"), encoding="utf-8") as fh:
                name = json.load(fh).get("cluster_name")
        except (OSError, ValueError, AttributeError) as exc:
            raise SaltRunnerError(f"{folder}/env.json: cannot read cluster_name ({exc}): run maia-configure") from None
    if not isinstance(name, str) or not _CLUSTER_NAME.fullmatch(name):
        raise SaltRunnerError(f"cluster_name {name!r} is not a DNS label: it names a file; re-run maia-configure")
    return name


# ------------------------------------------------------------ the sealed bundle


def _keypair():
    return sealed.keypair()


def _open(private, bundle):
    """The ``{"kubeconfig", "ca_crt"}`` texts inside a sealed bundle, and the sha256 of the
    bundle's payload as the host sent it (``maia_microk8s.export_digest`` on the host)."""
    try:
        payload = sealed.open_bundle(private, bundle)
        data = json.loads(payload)
    except (sealed.SealError, ValueError):
        raise SaltRunnerError("the host's export bundle is malformed or was not sealed to this run's key") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("kubeconfig", "ca_crt")):
        raise SaltRunnerError("the host's export bundle does not hold a kubeconfig and a CA")
    return data, hashlib.sha256(payload).hexdigest()


def _call(tgt, ssh, roster_file, timeout, fun_kwargs):
    try:
        return sealed.ask(__opts__, tgt, "maia_microk8s.export_bundle", fun_kwargs, ssh, roster_file, timeout)
    except sealed.SealError as exc:
        raise SaltRunnerError(str(exc)) from None


# ------------------------------------------------------------ writing the pair


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(path, text):
    """Create ``path`` 0600; fails if anything (a symlink too) is already there."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _read_nofollow(path):
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, encoding="utf-8") as fh:
        return fh.read()


def _pair_dir(folder):
    base = os.path.join(folder, PAIR_DIR)
    try:
        os.mkdir(base, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(base)
    if not os.path.isdir(base) or os.path.islink(base) or st.st_uid != os.getuid():
        raise SaltRunnerError(f"{base} must be a directory owned by this user (not a symlink): move it away")
    os.chmod(base, 0o700)
    return base


def _new_version(base, files):
    """A new version directory holding ``files`` ({name: text}); its name."""
    version = tempfile.mkdtemp(prefix="v-", dir=base)  # 0700, a fresh name
    for name, text in files.items():
        _write_new(os.path.join(version, name), text)
    _fsync_dir(version)
    _fsync_dir(base)
    return os.path.basename(version)


def _swap_link(link, target):
    """Point the symlink ``link`` at ``target`` with one atomic rename."""
    directory = os.path.dirname(link)
    while True:
        tmp = os.path.join(directory, f".maia-link-{os.urandom(6).hex()}")
        try:
            os.symlink(target, tmp)
            break
        except FileExistsError:
            continue
    os.replace(tmp, link)
    _fsync_dir(directory)


def _link_target(name):
    return os.path.join(PAIR_DIR, CURRENT, name)


def _current_texts(folder, names):
    """{name: text} of the pair the public names show now (None where unreadable)."""
    out = {}
    for name in names:
        try:
            out[name] = _read_nofollow(os.path.realpath(os.path.join(folder, name)))
        except OSError:
            out[name] = None
    return out


def _is_linked(folder, name):
    path = os.path.join(folder, name)
    return os.path.islink(path) and os.readlink(path) == _link_target(name)


def write_pair(folder, files):
    """
    Install ``files`` ({kubeconfig name: text, "ca.crt": text}) in ``folder``
    so that readers of the public names see the old pair or the new pair,
    never one of each (module docstring). Returns True when anything changed.
    """
    names = list(files)
    before = _current_texts(folder, names)
    plain = all(os.path.isfile(os.path.join(folder, n)) and not os.path.islink(os.path.join(folder, n)) for n in names)
    if before == files and (all(_is_linked(folder, n) for n in names) or (
        plain and all((os.stat(os.path.join(folder, n)).st_mode & 0o777) == 0o600 for n in names)
    )):
        # Unchanged (also when this machine is the control plane that wrote them).
        return False
    base = _pair_dir(folder)
    current = os.path.join(base, CURRENT)
    if not os.path.lexists(current) and all(before[n] is not None for n in names):
        # Earlier layout: regular files. Keep them as the current pair first.
        _swap_link(current, _new_version(base, before))
    new = _new_version(base, files)
    for name in names:  # links first: they show `current` (old pair) until the swap
        if not _is_linked(folder, name):
            _swap_link(os.path.join(folder, name), _link_target(name))
    _swap_link(current, new)
    for entry in os.listdir(base):
        if entry.startswith("v-") and entry != new:
            shutil.rmtree(os.path.join(base, entry), ignore_errors=True)
    return True


def exported_record(folder, host):
    """Where the digest of the pair last fetched from ``host`` is recorded (orch.maia reads it:
    docs/orchestration.md), or None for a host name that cannot be a file name."""
    if not _HOST_NAME.fullmatch(host):
        return None
    return os.path.join(folder, PAIR_DIR, f"exported-{host}.sha256")


def _record_export(folder, host, digest):
    """Record ``digest`` (what ``host`` sent) after its pair was written: written beside, then
    renamed over the record, so that a reader sees the old digest or the new one."""
    path = exported_record(folder, host)
    if path is None:
        log.warning("maia_kubeconfig: %r cannot name a file: no record, the next orch.maia fetches again", host)
        return
    _pair_dir(folder)
    tmp = f"{path}.{os.urandom(6).hex()}"
    _write_new(tmp, digest + "\n")
    os.replace(tmp, path)
    _fsync_dir(os.path.dirname(path))


def _site_k8s():
    """``maia:k8s`` of the master's own pillar (what orch.maia renders with), {} when it
    cannot be compiled: where a run by hand finds the site's ``api_server_url``/``api_port``."""
    import salt.pillar

    try:
        pillar = salt.pillar.get_pillar(__opts__, {}, __opts__["id"], saltenv="base").compile_pillar()
    except Exception as exc:  # pylint: disable=broad-except
        log.debug("maia_kubeconfig: no master pillar: %s", exc)
        return {}
    k8s = (pillar.get("maia") or {}).get("k8s") if isinstance(pillar, dict) else None
    return k8s if isinstance(k8s, dict) else {}


def _expected_server(folder, tgt, api_port=None, api_server_url=None):
    """The server URL the kubeconfig of control-plane host ``tgt`` must name: the site's
    ``api_server_url``, else ``https://<inventory address>:<api_port>``. Not given (None):
    from the master's pillar (``maia:k8s``), as orch.maia gives them."""
    from maia_salt import kubeconfig_check, parameters
    from maia_salt.inventory import INVENTORY_FILE, InventoryError, load_inventory

    if api_server_url is None:
        site = _site_k8s()
        api_server_url = site.get("api_server_url") or ""
        api_port = api_port or site.get("api_port")
    if api_server_url:
        return api_server_url
    try:
        inventory = load_inventory(os.path.join(folder, INVENTORY_FILE))
    except (OSError, InventoryError) as exc:
        raise SaltRunnerError(f"cannot check {tgt}'s kubeconfig without the site's inventory: {exc}") from None
    host = inventory.hosts.get(tgt)
    if host is None or "control-plane" not in host.groups:
        raise SaltRunnerError(f"{tgt} is not a control-plane host of {folder}/{INVENTORY_FILE}: its kubeconfig is not taken")
    if not host.address:
        raise SaltRunnerError(
            f"{tgt} has no address in {folder}/{INVENTORY_FILE}: give it one (or set maia:k8s:api_server_url) "
            "so that its kubeconfig's server can be checked"
        )
    port = api_port or parameters.defaults("k8s", _file_roots())["api_port"]
    return kubeconfig_check.server_url(host.address, port)


def _file_roots():
    roots = (__opts__.get("file_roots") or {}).get("base") or []
    return [root for root in roots if isinstance(root, str)]


def _checked_kubeconfig(folder, kube_name, text, tgt, expected):
    """The text to write: the host's kubeconfig rebuilt from its data, or the file already there
    when it passes the same check and says the same (the control plane writing into its own
    CONFIG_FOLDER keeps its file). Raises SaltRunnerError naming the host and field."""
    from maia_salt.kubeconfig_check import KubeconfigRefused, rebuild, dump

    try:
        new = rebuild(text, f"host {tgt}", expected)
    except KubeconfigRefused as exc:
        raise SaltRunnerError(f"{exc}; nothing was written") from None
    current = _current_texts(folder, [kube_name])[kube_name]
    if current is not None:
        try:
            if rebuild(current, "current", expected) == new:
                return current
        except KubeconfigRefused:
            pass
    return dump(new)


def fetch_kubeconfig(
    tgt, config_folder=None, ssh=False, roster_file=None, timeout=60, remote_folder=None, cluster_name=None,
    api_port=None, api_server_url=None,
):
    """
    Copy ``<CLUSTER_NAME>-kubeconfig.yaml`` and ``ca.crt`` exported on the
    control-plane host ``tgt`` into ``config_folder`` (default: the folder of the
    ``maia`` ext_pillar), mode 0600. Returns ``{path: {"sha256": ..., "changed": bool}}``.

    remote_folder
        where the host exported them (default: the same path, which is what the
        ``maia`` ext_pillar gives the host as ``maia:config_folder``)
    cluster_name
        default: ``cluster_name`` of the CONFIG_FOLDER
    api_port, api_server_url
        what the kubeconfig's server must be (``maia:k8s``'s; default: the
        master's pillar ``maia:k8s``, else the inventory address of ``tgt``
        and ``api_port`` of the k8s defaults)
    """
    folder = _config_folder(config_folder)
    name = _cluster_name(folder, cluster_name)
    kube_name = f"{name}-kubeconfig.yaml"
    expected = _expected_server(folder, tgt, api_port, api_server_url)
    remote = remote_folder or folder  # (salt-ssh functions get no pillar on the host: name the paths)
    kwargs = {"kubeconfig_path": os.path.join(remote, kube_name), "ca_path": os.path.join(remote, CA_NAME)}
    private, public = _keypair()
    bundles = _call(tgt, ssh, roster_file, timeout, {"recipient": public, **kwargs})
    if len(bundles) > 1:
        raise SaltRunnerError(f"{tgt} matched {len(bundles)} hosts; target one control-plane host")
    if next(iter(bundles)) != tgt:
        raise SaltRunnerError(f"{next(iter(bundles))} answered for {tgt}: target the control plane by its inventory name")
    data, digest = _open(private, next(iter(bundles.values())))
    kubeconfig = _checked_kubeconfig(folder, kube_name, data["kubeconfig"], tgt, expected)
    files = {kube_name: kubeconfig, CA_NAME: data["ca_crt"]}
    os.makedirs(folder, mode=0o700, exist_ok=True)
    changed = write_pair(folder, files)
    _record_export(folder, tgt, digest)
    return {
        os.path.join(folder, fname): {"sha256": hashlib.sha256(text.encode()).hexdigest(), "changed": changed}
        for fname, text in files.items()
    }
