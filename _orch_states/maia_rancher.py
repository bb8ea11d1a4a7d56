"""orch.maia's Rancher step as a state of the master's orchestration, so that it predicts.

Salt's ``salt.runner`` state does not call its runner under ``test=True`` (Salt 3008's
``salt.states.saltmod.runner`` answers "would be executed", no changes), and outside test mode it
reports the runner's whole return as a change, whatever the runner did. This state calls the
runner ``maia_rancher.local_kubeconfig`` (``_runners/maia_rancher.py``) through Salt's
``saltutil.runner`` as ``salt.runner`` does, but with ``test`` set from the run, and turns its
return into state changes: ``rancher_token``, the first-login settings, and the files of
CONFIG_FOLDER that are (or would be) written. A converged site gives no changes.

Only placeholders stand for the token and the files' contents (``<masked>``,
``<content not shown>``); the runner's return itself names no secret (docs/admin.md, "Rancher").

Master-side code: the installed package brings it through its ``salt.loader`` entry point
(``maia_salt.loader``, kind ``states``), like the runners; it loads in the master's
orchestration only (``salt-run state.orch``).
"""
from maia_salt import runner_step

__virtualname__ = "maia_rancher"

RUNNER = "maia_rancher.local_kubeconfig"
MASKED = "<masked>"
NOT_SHOWN = "<content not shown>"


def __virtual__():
    if __opts__.get("__role") != "master":
        return False, "maia_rancher states run in the master's orchestration (salt-run state.orch) only"
    return __virtualname__


def _changes(said):
    """State changes of the runner's return ``said`` (docs of ``maia_rancher.local_kubeconfig``)."""
    changes = {}
    if said.get("token") in ("replaced", "would be replaced"):
        changes["rancher_token"] = {"old": "<not usable>", "new": MASKED}
    for name, change in sorted((said.get("settings") or {}).items()):
        changes[f"setting {name}"] = {"old": change.get("old"), "new": change.get("new")}
    for path, written in sorted((said.get("files") or {}).items()):
        if written.get("changed"):
            changes[path] = {"old": NOT_SHOWN if written.get("existed", True) else None, "new": NOT_SHOWN}
    return changes


def local_kubeconfig_recorded(name, services=None, config_folder=None, timeout=30):
    """
    Rancher's token in env.json (``rancher_token``) and ``CONFIG_FOLDER/local.yaml`` work and
    hold the same token; Rancher's first-login settings are set (the runner
    ``maia_rancher.local_kubeconfig`` does it; under ``test=True`` it only reads).

    name
        the control-plane host (the runner's ``tgt``: its inventory address is where Rancher's
        ingress answers when ``mgmt.<domain>`` does not resolve)
    services
        ``maia:admin:services`` ({address, port, ca_pem})
    config_folder
        default: the maia ext_pillar's
    """
    test = bool(__opts__.get("test"))
    kwargs = {"tgt": name, "services": services or {}, "test": test, "timeout": timeout}
    if config_folder:
        kwargs["config_folder"] = config_folder
    said, error = runner_step.call(__salt__, globals(), RUNNER, "token", **kwargs)
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    if error:
        ret.update(result=False, comment=error)
        return ret
    ret["changes"] = _changes(said)
    written = ", ".join(path for path in said.get("files") or {} if said["files"][path].get("changed"))
    if not ret["changes"]:
        ret["comment"] = "Rancher's recorded token works; local.yaml and env.json are up to date"
    elif test:
        ret["result"] = None
        ret["comment"] = f"Rancher's token {said['token']}" + (f"; would write {written}" if written else "")
    else:
        ret["comment"] = f"Rancher's token {said['token']}" + (f"; wrote {written}" if written else "")
    return ret
