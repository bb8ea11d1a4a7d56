"""Execution module for UFW (Uncomplicated Firewall).

Rules are data: a rule is a dict ``{action, proto, port, from}`` (``action``
defaults to ``allow``, ``proto`` to ``any``, ``port`` and ``from`` to
``any``). The rules UFW holds are read from its user rules files
(``/etc/ufw/user.rules`` and ``user6.rules``), whose ``### tuple ###`` lines
are UFW's own machine-readable record of every added rule, written whether the
firewall is active or not. Reading them needs neither a running firewall nor
parsing of human-oriented ``ufw status`` tables.

CLI examples::

    salt-call maia_ufw.status
    salt-call maia_ufw.rules
    salt-call maia_ufw.add_rule '{"port": 2049, "proto": "tcp", "from": "198.18.0.12"}'
"""
from __future__ import annotations

import ipaddress
import logging
import os
import re

import salt.utils.path
from salt.exceptions import CommandExecutionError, SaltInvocationError

log = logging.getLogger(__name__)

__virtualname__ = "maia_ufw"

# Where UFW keeps user rules; /lib/ufw was used by releases before 0.34.
RULES_DIRS = ("/etc/ufw", "/lib/ufw")
ACTIONS = ("allow", "deny", "reject", "limit")
PROTOS = ("any", "tcp", "udp")
_TUPLE = re.compile(r"^### tuple ###\s*(?P<body>.*)$")
_PORT = re.compile(r"^\d{1,5}(:\d{1,5})?$")


def __virtual__():
    # Always loadable, so that test=True can predict changes on a host where
    # the ufw package is not installed yet.
    return __virtualname__


# ---------------------------------------------------------------- rule data


def _normalize_address(value) -> str:
    if value in (None, "", "any", "0.0.0.0/0", "::/0"):
        return "any"
    try:
        net = ipaddress.ip_network(str(value), strict=False)
    except ValueError as exc:
        raise SaltInvocationError(f"ufw rule: 'from' {value!r} is not an IP address or network") from exc
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def _normalize_port(value, proto) -> str:
    if value in (None, "", "any"):
        return "any"
    port = str(value).replace("-", ":")
    if not _PORT.match(port):
        raise SaltInvocationError(f"ufw rule: port {value!r} is not a port number or range (e.g. 22, 30000:31000)")
    bounds = [int(p) for p in port.split(":")]
    if not all(1 <= p <= 65535 for p in bounds) or (len(bounds) == 2 and bounds[0] >= bounds[1]):
        raise SaltInvocationError(f"ufw rule: port {value!r} is out of range 1-65535")
    if len(bounds) == 2 and proto == "any":
        raise SaltInvocationError(f"ufw rule: port range {value!r} needs proto tcp or udp")
    return port


def normalize_rule(rule=None, **kwargs) -> dict:
    """
    Return the canonical form of a rule: ``{action, proto, port, from}``.

    Accepts ``from`` or ``source`` for the source address. Raises
    ``SaltInvocationError`` naming the bad field.

    CLI example::

        salt-call maia_ufw.normalize_rule '{"port": "22", "proto": "TCP"}'
    """
    data = dict(rule or {})
    data.update({k: v for k, v in kwargs.items() if not k.startswith("__")})
    unknown = set(data) - {"action", "proto", "port", "from", "source", "comment"}
    if unknown:
        raise SaltInvocationError(f"ufw rule: unknown field(s) {sorted(unknown)}; use action, proto, port, from")
    action = str(data.get("action") or "allow").lower()
    if action not in ACTIONS:
        raise SaltInvocationError(f"ufw rule: action {action!r} is not one of {', '.join(ACTIONS)}")
    proto = str(data.get("proto") or "any").lower()
    if proto not in PROTOS:
        raise SaltInvocationError(f"ufw rule: proto {proto!r} is not one of {', '.join(PROTOS)}")
    source = data.get("from", data.get("source"))
    return {
        "action": action,
        "proto": proto,
        "port": _normalize_port(data.get("port"), proto),
        "from": _normalize_address(source),
    }


def describe(rule) -> str:
    """One-line human description, e.g. ``allow 2049/tcp from 198.18.0.12``."""
    r = normalize_rule(rule)
    what = "any port" if r["port"] == "any" else r["port"]
    if r["proto"] != "any":
        what += f"/{r['proto']}"
    return f"{r['action']} {what} from {r['from']}"


def rule_args(rule) -> list[str]:
    """The ``ufw`` arguments (full syntax) that add this rule."""
    r = normalize_rule(rule)
    args = [r["action"]]
    if r["proto"] != "any":
        args += ["proto", r["proto"]]
    args += ["from", r["from"], "to", "any"]
    if r["port"] != "any":
        args += ["port", r["port"]]
    return args


def _same(a: dict, b: dict) -> bool:
    return all(a[k] == b[k] for k in ("action", "proto", "port", "from"))


# ------------------------------------------------------------ reading state


def _rules_files(rules_dir=None) -> list[str]:
    dirs = [rules_dir] if rules_dir else list(RULES_DIRS)
    for d in dirs:
        files = [os.path.join(d, n) for n in ("user.rules", "user6.rules")]
        if any(os.path.exists(f) for f in files):
            return files
    return []


def parse_rules_file(text: str) -> list[dict]:
    """Parse the ``### tuple ###`` lines of a UFW user rules file.

    Tuple layout (ufw backend_iptables): ``action proto dport dst sport src
    [dapp sapp] direction[_iface]`` followed by an optional ``comment=HEX``.
    Only incoming, non-route rules are returned; others are kept out because
    this module does not manage them.
    """
    found = []
    for line in text.splitlines():
        m = _TUPLE.match(line.strip())
        if not m:
            continue
        body = m.group("body").split(" comment=")[0]
        fields = body.split()
        if len(fields) not in (7, 9):
            log.debug("ufw: skipping malformed tuple %r", line)
            continue
        action, proto, dport, dst, sport, src = fields[:6]
        direction = fields[-1]
        if ":" in action or not direction.startswith("in") or "_" in direction:
            continue  # route or outgoing or interface-bound rule: not ours
        action = action.split("_")[0]  # allow_log -> allow
        if len(fields) == 9 and (fields[6] != "-" or fields[7] != "-"):
            continue  # application profile rule
        if dst not in ("0.0.0.0/0", "::/0", "any") or sport != "any":
            continue
        found.append(
            {
                "action": action,
                "proto": proto,
                "port": dport,
                "from": _normalize_address(src),
            }
        )
    return found


def rules(rules_dir=None) -> list[dict]:
    """
    The incoming rules UFW holds (active or not), canonical and de-duplicated
    (a rule from ``any`` is stored once for IPv4 and once for IPv6).

    CLI example::

        salt-call maia_ufw.rules
    """
    result = []
    for path in _rules_files(rules_dir):
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            for rule in parse_rules_file(fh.read()):
                if not any(_same(rule, r) for r in result):
                    result.append(rule)
    return result


def has_rule(rule, rules_dir=None) -> bool:
    """True when UFW holds this rule."""
    wanted = normalize_rule(rule)
    return any(_same(wanted, r) for r in rules(rules_dir))


def installed() -> bool:
    return bool(salt.utils.path.which("ufw"))


def _run(args: list[str]) -> dict:
    if not installed():
        raise CommandExecutionError("ufw is not installed (install the 'ufw' package first)")
    res = __salt__["cmd.run_all"](["ufw", *args], python_shell=False, env={"LC_ALL": "C"}, ignore_retcode=True)
    if res["retcode"] != 0:
        raise CommandExecutionError(f"ufw {' '.join(args)} failed: {(res['stderr'] or res['stdout']).strip()}")
    return res


def parse_status(text: str) -> dict:
    """Parse ``ufw status verbose`` output into ``{active, defaults, logging}``."""
    status = {"active": False, "defaults": {}, "logging": None}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "status":
            status["active"] = value.lower() == "active"
        elif key == "logging":
            status["logging"] = value
        elif key == "default":
            for part in value.split(","):
                m = re.match(r"\s*(\w+)\s*\((\w+)\)", part)
                if m:
                    status["defaults"][m.group(2)] = m.group(1)
    return status


def status() -> dict:
    """
    ``{installed, active, defaults, logging}``; inactive when ufw is missing.

    CLI example::

        salt-call maia_ufw.status
    """
    if not installed():
        return {"installed": False, "active": False, "defaults": {}, "logging": None}
    out = _run(["status", "verbose"])["stdout"]
    return {"installed": True, **parse_status(out)}


DEFAULTS_FILE = "/etc/default/ufw"
POLICY_KEYS = {"incoming": "DEFAULT_INPUT_POLICY", "outgoing": "DEFAULT_OUTPUT_POLICY", "routed": "DEFAULT_FORWARD_POLICY"}
_POLICY_WORDS = {"DROP": "deny", "ACCEPT": "allow", "REJECT": "reject"}
POLICIES = ("deny", "allow", "reject")


def default_policy(direction="incoming", defaults_file=None) -> str | None:
    """
    The default policy (``deny``, ``allow`` or ``reject``) UFW applies to a
    direction, read from ``/etc/default/ufw`` (valid whether the firewall is
    active or not); None when the file or the key is missing.

    CLI example::

        salt-call maia_ufw.default_policy incoming
    """
    if direction not in POLICY_KEYS:
        raise SaltInvocationError(f"ufw: direction {direction!r} is not one of {', '.join(POLICY_KEYS)}")
    path = defaults_file or DEFAULTS_FILE
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return None
    m = re.search(rf'^\s*{POLICY_KEYS[direction]}\s*=\s*"?(\w+)"?\s*$', text, re.M)
    return _POLICY_WORDS.get(m.group(1).upper()) if m else None


# ----------------------------------------------------------------- changing


def set_default_policy(policy, direction="incoming") -> str:
    """``ufw default <policy> <direction>``. Returns UFW's message."""
    if policy not in POLICIES:
        raise SaltInvocationError(f"ufw: policy {policy!r} is not one of {', '.join(POLICIES)}")
    if direction not in POLICY_KEYS:
        raise SaltInvocationError(f"ufw: direction {direction!r} is not one of {', '.join(POLICY_KEYS)}")
    return _run(["default", policy, direction])["stdout"].strip()


def add_rule(rule) -> str:
    """Add a rule (no-op in UFW if it exists). Returns UFW's message."""
    return _run(rule_args(rule))["stdout"].strip()


def delete_rule(rule) -> str:
    """Delete a rule. Returns UFW's message."""
    return _run(["delete", *rule_args(rule)])["stdout"].strip()


def enable() -> str:
    """Enable the firewall (and at boot) without the interactive prompt."""
    return _run(["--force", "enable"])["stdout"].strip()


def disable() -> str:
    return _run(["disable"])["stdout"].strip()

