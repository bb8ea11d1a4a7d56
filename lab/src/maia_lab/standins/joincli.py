# The shared part of the stand-ins on worker hosts: join tokens, worker Nodes, kubectl's node commands.
# STAND-IN helpers. Standard library only: it runs with the host's system python3. The installer
# (maia_lab.standins.hoststate.build_cli) puts this text in place of the CLI's import line of this
# module, after hostcli's text, so it uses hostcli's fail there; the import below is for reading it here.
#
# A join token is a bootstrap token, as k3s, rke2, k0s and kubeadm keep theirs: a Secret
# kube-system/bootstrap-token-<id> of type bootstrap.kubernetes.io/token with token-id, token-secret
# and expiration, in the Kubernetes API stand-in. The check the cluster makes of a joining node's
# token (k3s' and rke2's supervisor, MicroK8s' cluster agent, kube-apiserver's bootstrap-token
# authenticator for k0s) is made here, by the joining stand-in, with the API credentials of its state.
import base64
import datetime
import hmac
import json
import re
import secrets
import ssl
import string
import sys
import urllib.error
import urllib.request

from maia_lab.standins.hostcli import fail  # noqa: F401  (inlined before this text)

TOKEN_TYPE = "bootstrap.kubernetes.io/token"
TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16,})$")
ALPHABET = string.ascii_lowercase + string.digits


def api_request(state, method, path, body=None, content_type="application/json"):
    """One request to the Kubernetes API stand-in whose address, CA and token the state holds:
    (status, the JSON answer or None); (None, None) when it is not reachable."""
    api = state.get("api") or {}
    if not api.get("server"):
        return None, None
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(api["server"].rstrip("/") + path, data=data, method=method,
                                 headers={"Content-Type": content_type, "Accept": "application/json"})
    if api.get("token"):
        req.add_header("Authorization", "Bearer " + api["token"])
    ctx = None
    if api["server"].startswith("https"):
        ctx = ssl.create_default_context(cadata=api.get("ca_pem") or None)
        if not api.get("ca_pem"):
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except OSError as exc:
        sys.stderr.write(f"stand-in: API stand-in unreachable: {exc}\n")
        return None, None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def parse_duration(text):
    """Seconds of a Go duration (``15m``, ``1h30m``, ``900s``, ``0``), as ``--ttl``/``--expiry`` take it."""
    text = str(text).strip()
    if text in ("0", "0s"):
        return 0
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        fail(f'invalid duration "{text}"')
    return int(sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts))


def create_token(state, ttl, description, token_id=None, token_secret=None, groups="system:bootstrappers:worker"):
    """Register a bootstrap token valid for ``ttl`` seconds (0: no expiry) in the API stand-in;
    returns (id, secret). Fails when the API stand-in refuses it or is not reachable."""
    token_id = token_id or "".join(secrets.choice(ALPHABET) for _ in range(6))
    token_secret = token_secret or "".join(secrets.choice(ALPHABET) for _ in range(16))
    data = {"token-id": token_id, "token-secret": token_secret, "description": description,
            "usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true", "auth-extra-groups": groups}
    if ttl:
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=ttl)
        data["expiration"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    secret = {"apiVersion": "v1", "kind": "Secret", "type": TOKEN_TYPE, "stringData": data,
              "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"}}
    status, _ = api_request(state, "POST", "/api/v1/namespaces/kube-system/secrets", secret)
    if status == 409:
        fail(f'failed to create token: secrets "bootstrap-token-{token_id}" already exists')
    if status != 201:
        fail(f"failed to create token: the API server answered {status}")
    return token_id, token_secret


def token_problem(state, token):
    """Why ``token`` (``<id>.<secret>``) does not let a node join: it is no bootstrap token, none with
    its id exists, its secret differs or it has expired; None when it is valid."""
    match = TOKEN_RE.match(token or "")
    if not match:
        return "the token is not of the form <id>.<secret>"
    status, secret = api_request(state, "GET", f"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{match[1]}")
    if status is None:
        return "the API server is not reachable"
    if status == 404 or (secret or {}).get("type") != TOKEN_TYPE:
        return "the token is unknown to the cluster"
    data = {k: base64.b64decode(v).decode() for k, v in ((secret or {}).get("data") or {}).items()}
    if not hmac.compare_digest(data.get("token-secret", "").encode(), match[2].encode()):
        return "the token's secret is wrong"
    expires = data.get("expiration")
    if expires and datetime.datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc) <= datetime.datetime.now(datetime.timezone.utc):
        return f"the token expired at {expires}"
    return None


READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                         "message": "kubelet is posting ready status (stand-in)"}]}


def node_ready(state, name):
    """The Node's status Ready, as kubelet posts it (the status subresource: a create keeps no status)."""
    return api_request(state, "PATCH", f"/api/v1/nodes/{name}/status", {"status": READY},
                       "application/merge-patch+json")[0]


def node_exists(state, name):
    return api_request(state, "GET", f"/api/v1/nodes/{name}")[0] == 200


def join_node(state, name, token, labels, program):
    """A worker's first contact: with a valid token (or when its Node exists already, as after a
    restart once the token expired: the node then authenticates as itself) its Node is registered,
    Ready, with ``labels`` and no control-plane role; otherwise it fails naming the reason."""
    problem = token_problem(state, token)
    if problem and not node_exists(state, name):
        fail(f"{program}: failed to join the cluster as node {name}: {problem}")
    meta = {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                     "kubernetes.io/arch": "amd64", **labels}}
    status, _ = api_request(state, "POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": meta})
    if status == 409:
        status, _ = api_request(state, "PATCH", f"/api/v1/nodes/{name}", {"metadata": meta},
                                "application/merge-patch+json")
    if status in (200, 201):
        status = node_ready(state, name)
    if status != 200:
        fail(f"{program}: node {name} could not register: the API server answered {status}")
    state["token_checks"] = state.get("token_checks", []) + [{"node": name, "problem": problem}]


def kubectl_nodes(state, argv):
    """``kubectl get nodes -o json`` (the API stand-in's Node list, as kubectl prints it) and
    ``kubectl delete node NAME`` (the Node removed; NotFound fails); None for other commands."""
    if argv[:2] == ["get", "nodes"] and ("-o" in argv and argv[argv.index("-o") + 1:][:1] == ["json"]
                                         or "-ojson" in argv or "--output=json" in argv):
        status, listed = api_request(state, "GET", "/api/v1/nodes")
        if status != 200:
            fail(f"The connection to the server was refused (API stand-in: {status})")
        print(json.dumps({"apiVersion": "v1", "items": [dict(item, apiVersion="v1", kind="Node")
                                                        for item in listed.get("items", [])],
                          "kind": "List", "metadata": {"resourceVersion": ""}}, indent=4))
        return 0
    if argv[:2] in (["delete", "node"], ["delete", "nodes"]) and len(argv) == 3:
        status, _ = api_request(state, "DELETE", f"/api/v1/nodes/{argv[2]}")
        if status == 404:
            fail(f'Error from server (NotFound): nodes "{argv[2]}" not found')
        if status != 200:
            fail(f"error: deleting node {argv[2]}: the API server answered {status}")
        print(f'node "{argv[2]}" deleted')
        return 0
    return None
