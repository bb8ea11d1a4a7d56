"""The one cluster action of the ArgoCD layers' own: a rollout restart that a setting calls for
(stage 3: traefik and CoreDNS with ``selfsigned`` / ``coredns_mappings``; stage 4: argocd-server
after the admin toolkit changed ArgoCD's OIDC settings), over ``_modules/maia_core.py``.

.. code-block:: yaml

    maia-core-coredns-rollout-restarted:
      maia_core.rollout_restarted:
        - name: coredns
        - kind: Deployment
        - namespace: kube-system
        - trigger: 0123abcd   # a hash of what calls for the restart

A restart runs once per ``trigger``: the Deployment records it (annotation
``maia-salt/restart-trigger``), so a re-run changes nothing. Under ``test=True`` the state
predicts the restart with the changes a run reports (``module.run`` predicts none), also before
the cluster exists (``maia_core.restart_pending`` says pending when it cannot read it).
"""
from salt.exceptions import CommandExecutionError

# _utils/: shipped and put on sys.path by Salt's loader
import maia_plan_overlay
import maia_state_return

__virtualname__ = "maia_core"


def __virtual__():
    if "maia_core.restart_pending" not in __salt__:
        return (False, "the maia_core execution module is not available")
    return __virtualname__


def rollout_restarted(name, kind, namespace, trigger, kubeconfig=None):
    """``kind`` ``namespace``/``name`` was rollout-restarted for ``trigger`` (restarted now if not)."""
    ret = maia_state_return.new(name)
    what = f"{kind} {namespace}/{name}"
    try:
        pending = __salt__["maia_core.restart_pending"](kind, name, namespace, trigger, kubeconfig=kubeconfig)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, f"{what}: {exc}")
    if not pending:
        ret["comment"] = f"{what} was restarted for this setting already, or does not exist yet"
        return ret
    changes = {"rollout restart": {"old": None, "new": what}}
    overlay = maia_plan_overlay.active(__opts__, __pillar__)  # a plan on a new site
    if overlay is not None and overlay.predict(f"restart {what}", trigger) == []:
        ret["comment"] = f"{what} would be restarted for this setting by an earlier step of this plan"
        return ret
    if __opts__["test"]:
        return maia_state_return.predicted(ret, changes, f"{what} would be restarted (rollout)")
    try:
        __salt__["maia_core.rollout_restart"](kind, name, namespace, trigger, kubeconfig=kubeconfig)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, f"{what}: {exc}")
    ret["changes"] = changes
    ret["comment"] = f"{what} restarted (rollout)"
    return ret
