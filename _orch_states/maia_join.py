"""orch.maia's worker join: the hosts of the inventory group ``workers`` become nodes of the control
plane's cluster (docs/k8s.md, "Worker hosts").

For each worker that the control plane does not list as a node yet, this state asks, in turn (with
minions, or over salt-ssh with ``ssh=True``; ``maia_salt.sealed.call``):

1. the worker: ``maia_k8s_join.recipient``, a fresh public key (its private half stays on the worker);
2. the control plane: ``maia_k8s_join.token``, a join token of ``ttl`` seconds sealed to that key, so
   the master, its job cache and the logs only ever hold ciphertext;
3. the worker: ``maia_k8s_join.join`` with the bundle;

then waits until the control plane lists every joined worker as a Ready node. Under ``test=True`` it
only reads the control plane's node list and predicts a join for each worker missing there (every
worker, while the control plane does not answer yet: a new site). A site whose workers are all
nodes gets no change.

Master-side code, loaded in the master's orchestration only (``salt-run state.orch``), like
``maia_rancher``.
"""
import time

from maia_salt import sealed

__virtualname__ = "maia_join"


def __virtual__():
    if __opts__.get("__role") != "master":
        return False, "maia_join states run in the master's orchestration (salt-run state.orch) only"
    return __virtualname__


def _call(tgt, fun, kwargs, ssh, roster_file, wanted):
    return sealed.call(__opts__, tgt, fun, kwargs, ssh, roster_file, timeout=300, wanted=wanted)[tgt]


def _nodes(name, distribution, paths, ssh, roster_file):
    kwargs = {"distribution": distribution, **({"paths": paths} if paths else {})}
    said = sealed.call(__opts__, name, "maia_k8s_join.nodes", kwargs, ssh, roster_file, timeout=120)
    return said.get(name) or {}


def workers_joined(name, workers, distribution, server, ssh=False, roster_file=None, paths=None, ttl=900,
                   retries=60, interval=5):
    """
    Every host of ``workers`` is a Ready node of the cluster whose control plane is ``name``.

    name
        the control-plane host (minion id / roster name)
    workers
        the worker hosts' names (their node names)
    distribution
        microk8s, k3s, rke2 or k0s
    server
        the control plane's address, where a MicroK8s worker joins (k3s, rke2: in the agent's
        settings, k0s: in the token)
    paths
        the distribution's paths (``maia:k8s:<distribution>:paths``), when a site moved them
    ttl
        seconds a join token lives (the distribution's CLI enforces it)
    retries, interval
        how long to wait for the joined workers to be Ready nodes
    """
    test = bool(__opts__.get("test"))
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    workers = sorted(workers or [])
    try:
        nodes = _nodes(name, distribution, paths, ssh, roster_file)
    except sealed.SealError as exc:
        if not test:
            ret.update(result=False, comment=f"cannot list the cluster's nodes on {name}: {exc}")
            return ret
        nodes = {}
    missing = [worker for worker in workers if worker not in nodes]
    if not missing:
        ret["comment"] = f"{len(workers)} worker(s) are nodes of the cluster: {', '.join(workers) or 'none'}"
        return ret
    ret["changes"] = {worker: {"old": "not a node", "new": "Ready node"} for worker in missing}
    if test:
        ret.update(result=None, comment=f"would join {', '.join(missing)} to {name}'s {distribution} cluster")
        return ret
    extra = {"paths": paths} if paths else {}
    joined = []
    for worker in missing:
        try:
            public = _call(worker, "maia_k8s_join.recipient", {}, ssh, roster_file, "recipient")["recipient"]
            bundle = _call(name, "maia_k8s_join.token",
                           {"distribution": distribution, "recipient": public, "ttl": ttl, **extra},
                           ssh, roster_file, "sealed")
            _call(worker, "maia_k8s_join.join",
                  {"distribution": distribution, "server": server, "node_name": worker,
                   "epk": bundle["epk"], "nonce": bundle["nonce"], "sealed": bundle["sealed"], **extra},
                  ssh, roster_file, "joined")
        except (sealed.SealError, KeyError, TypeError) as exc:
            ret.update(changes={w: {"old": "not a node", "new": "joined"} for w in joined}, result=False,
                       comment=f"{worker} did not join {name}'s cluster: {exc}")
            return ret
        joined.append(worker)
    for attempt in range(int(retries)):
        try:
            nodes = _nodes(name, distribution, paths, ssh, roster_file)
        except sealed.SealError:
            nodes = {}
        if all(nodes.get(worker) for worker in missing):
            ret["comment"] = f"joined {', '.join(missing)} to {name}'s {distribution} cluster"
            return ret
        if attempt + 1 < int(retries):
            time.sleep(float(interval))
    not_ready = [worker for worker in missing if not nodes.get(worker)]
    ret.update(result=False, comment=f"{', '.join(not_ready)} joined but not a Ready node of {name}'s cluster "
                                     f"after {retries} checks {interval}s apart")
    return ret


def worker_removed(name, worker, distribution, ssh=False, roster_file=None, paths=None):
    """
    ``worker`` has left the cluster whose control plane is ``name`` (``maia remove-host``): first, on
    the worker, ``maia_k8s_join.leave`` (its agent stopped and disabled, its join token and agent
    state removed; a worker that no longer answers is noted, not an error), then, on the control
    plane, ``maia_k8s_join.remove_node`` (in this order, so that a running agent cannot register the
    node again). Under ``test=True`` it only reads the node list and predicts.
    """
    test = bool(__opts__.get("test"))
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    extra = {"paths": paths} if paths else {}
    try:
        is_node = worker in _nodes(name, distribution, paths, ssh, roster_file)
    except sealed.SealError as exc:
        ret.update(result=False, comment=f"cannot list the cluster's nodes on {name}: {exc}")
        return ret
    if test:
        if is_node:
            ret.update(result=None, changes={worker: {"old": "node", "new": "left, node deleted"}},
                       comment=f"would make {worker} leave {name}'s cluster and delete its node")
        else:
            ret["comment"] = f"{worker} is no node of {name}'s cluster; would still stop its agent if it answers"
        return ret
    notes = []
    try:
        left = _call(worker, "maia_k8s_join.leave", {"distribution": distribution, **extra}, ssh, roster_file, "left")
        notes.append(f"{worker}: " + ("; ".join(left["left"]) or "nothing to undo"))
        if left["left"]:
            ret["changes"]["left"] = left["left"]
    except sealed.SealError as exc:
        notes.append(f"{worker} did not leave by itself ({exc}); its node is deleted anyway")
    try:
        removed = _call(name, "maia_k8s_join.remove_node", {"distribution": distribution, "name": worker, **extra},
                        ssh, roster_file, "removed")
    except sealed.SealError as exc:
        ret.update(result=False, comment="; ".join(notes + [f"the node {worker} was not deleted: {exc}"]))
        return ret
    if removed["removed"]:
        ret["changes"]["node"] = {"old": worker, "new": None}
        notes.append(f"node {worker} deleted on {name}")
    else:
        notes.append(f"{worker} was no node of {name}'s cluster")
    ret["comment"] = "; ".join(notes)
    return ret
