# The MicroK8s stand-in's cluster commands: add-node, join --worker, leave, remove-node, kubectl's
# node commands. STAND-IN, standard library only; the installer (maia_lab.standins.hoststate.build_cli)
# puts this text in place of the MicroK8s CLI's import line of this module, after hostcli's and
# joincli's text, so it uses their functions there; the imports below are for reading it here.
import re

from maia_lab.standins.hostcli import fail, save  # noqa: F401  (inlined before this text)
from maia_lab.standins.joincli import api_request, create_token, join_node, kubectl_nodes


def add_node(state, argv):
    """`microk8s add-node --token T --token-ttl S`: T (32 characters) joins for S seconds; kept as a
    bootstrap token (id: T's first 6 characters, secret: the rest) in the API stand-in."""
    opts = dict(zip(argv[::2], argv[1::2]))
    token = opts.get("--token", "")
    if len(token) != 32 or not token.isalnum():
        fail("The token should be 32 characters long, letters and digits.")
    if not state.get("running"):
        fail("microk8s is not running. Use microk8s inspect for a deeper inspection.")
    create_token(state, int(opts.get("--token-ttl", "0")), "MicroK8s add-node token", token[:6].lower(),
                 token[6:].lower())
    address = f"{state.get('address', '127.0.0.1')}:25000/{token}"
    print(f"From the node you wish to join to this cluster, run the following:\nmicrok8s join {address}\n\n"
          f"Use the '--worker' flag to join a node as a worker not running the control plane, eg:\n"
          f"microk8s join {address} --worker")
    return 0


def join(state, argv):
    """`microk8s join HOST:25000/TOKEN[/HASH] --worker`: the token checked (or the Node there
    already), the host's Node registered as a worker."""
    where = [a for a in argv if not a.startswith("-")]
    match = re.match(r"^([^/:]+):(\d+)/([A-Za-z0-9]{32})(/\w+)?$", where[0] if where else "")
    if "--worker" not in argv or not match:
        fail("usage (stand-in): microk8s join <address>:25000/<token of 32 characters> --worker")
    token = match[3].lower()
    print(f"Contacting cluster at {match[1]}")
    join_node(state, state["hostname"], f"{token[:6]}.{token[6:]}",
              {"microk8s.io/cluster": "true", "node.kubernetes.io/microk8s-worker": "microk8s-worker"},
              "microk8s join")
    state.update(awaiting_join=False, joined={"server": f"{match[1]}:{match[2]}", "worker": True})
    save(state)
    print("The node has joined the cluster and will appear in the nodes list in a few seconds.")
    return 0


def leave(state, _argv):
    """`microk8s leave`: the host's own one-node cluster again (the cluster keeps the Node until
    `remove-node`)."""
    state.update(awaiting_join=True, joined=None)
    save(state)
    print("Generating new cluster certificates.\nWaiting for node to start.")
    return 0


def remove_node(state, argv):
    """`microk8s remove-node NAME [--force]`: the Node removed from the cluster."""
    names = [a for a in argv if not a.startswith("-")]
    if len(names) != 1:
        fail("usage: microk8s remove-node NAME [--force]")
    if api_request(state, "DELETE", f"/api/v1/nodes/{names[0]}")[0] != 200:
        fail(f"Node {names[0]} does not exist in Kubernetes.")
    return 0


def kubectl(state, argv):
    """`microk8s kubectl get nodes -o json | delete node NAME`."""
    if not state.get("running"):
        fail("microk8s is not running. Use microk8s inspect for a deeper inspection.")
    done = kubectl_nodes(state, argv)
    if done is None:
        fail(f"microk8s kubectl {' '.join(argv)}: not emulated by the stand-in")
    return done


CLUSTER_COMMANDS = {"add-node": add_node, "join": join, "leave": leave, "remove-node": remove_node,
                    "kubectl": kubectl}
