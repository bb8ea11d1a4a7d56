"""States for UFW: firewall enabled or disabled, rules present or absent.

Each state reads the current firewall through the ``maia_ufw`` execution module,
returns early when it already matches, predicts the exact change under
``test=True``, and re-reads after acting.

.. code-block:: yaml

    maia-prepare-ufw-rule-ssh-allowed:
      maia_ufw.rule_present:
        - port: 22
        - proto: tcp

    maia-prepare-ufw-rule-from-maia-node-1-allowed:
      maia_ufw.rule_present:
        - source: 198.18.0.12

    maia-prepare-ufw-enabled:
      maia_ufw.enabled: []
"""
from salt.exceptions import SaltInvocationError

import maia_state_return  # _utils/: shipped and put on sys.path by Salt's loader

__virtualname__ = "maia_ufw"


def __virtual__():
    return __virtualname__



def _run(ret, fun, *args):
    """``(ok, value)`` of ``fun(*args)``: a failure marks ``ret`` failed (``maia_state_return.attempt``)."""
    return maia_state_return.attempt(ret, __salt__[fun], *args)


def _rule_from_kwargs(port, proto, source, action):
    return __salt__["maia_ufw.normalize_rule"]({"port": port, "proto": proto, "from": source, "action": action})


def rule_present(name, port=None, proto="any", source="any", action="allow"):
    """
    Ensure UFW holds an incoming rule.

    port
        Port or range (``30000:31000``); ``any`` (default) for every port.
    proto
        ``tcp``, ``udp`` or ``any``.
    source
        Address or network the traffic comes from; ``any`` by default.
    action
        ``allow`` (default), ``deny``, ``reject`` or ``limit``.
    """
    return _rule_state(name, True, port, proto, source, action)


def rule_absent(name, port=None, proto="any", source="any", action="allow"):
    """Ensure UFW does not hold the given incoming rule."""
    return _rule_state(name, False, port, proto, source, action)


def _rule_state(name, wanted: bool, port, proto, source, action):
    """rule_present (``wanted``) and rule_absent: read, predict, act, read again."""
    ret = maia_state_return.new(name)
    try:
        rule = _rule_from_kwargs(port, proto, source, action)
    except SaltInvocationError as exc:
        ret.update(result=False, comment=str(exc))
        return ret
    text = __salt__["maia_ufw.describe"](rule)
    verb, where = ("added", "present") if wanted else ("deleted", "absent")
    if bool(__salt__["maia_ufw.has_rule"](rule)) == wanted:
        ret["comment"] = f"Rule '{text}' is already {where}"
        return ret
    change = {"rule": {"old": None, "new": text} if wanted else {"old": text, "new": None}}
    if __opts__["test"]:
        ret.update(result=None, changes=change, comment=f"Rule '{text}' would be {verb}")
        return ret
    if not _run(ret, "maia_ufw.add_rule" if wanted else "maia_ufw.delete_rule", rule)[0]:
        return ret
    if bool(__salt__["maia_ufw.has_rule"](rule)) != wanted:
        failure = "was added but UFW does not list it" if wanted else "is still listed after deletion"
        ret.update(result=False, comment=f"Rule '{text}' {failure}")
        return ret
    ret.update(changes=change, comment=f"Rule '{text}' {verb}")
    return ret


def _set_active(name, wanted: bool):
    ret = maia_state_return.new(name)
    word = "enabled" if wanted else "disabled"
    ok, current = _run(ret, "maia_ufw.status")
    if not ok:
        return ret
    if current["active"] == wanted:
        ret["comment"] = f"UFW is already {word}"
        return ret
    change = {"active": {"old": current["active"], "new": wanted}}
    if __opts__["test"]:
        ret.update(result=None, changes=change, comment=f"UFW would be {word}")
        return ret
    if not _run(ret, "maia_ufw.enable" if wanted else "maia_ufw.disable")[0]:
        return ret
    ok, after = _run(ret, "maia_ufw.status")
    if not ok:
        return ret
    if after["active"] != wanted:
        ret.update(result=False, comment=f"UFW reports active={after['active']} after being {word}")
        return ret
    ret.update(changes=change, comment=f"UFW {word}")
    return ret


def default_policy(name, policy="deny", direction="incoming"):
    """
    Ensure UFW's default policy for ``direction`` (``incoming``, ``outgoing``
    or ``routed``) is ``policy`` (``deny``, ``reject`` or ``allow``), set
    explicitly rather than left to the package default.
    """
    ret = maia_state_return.new(name)
    ok, current = _run(ret, "maia_ufw.default_policy", direction)
    if not ok:
        return ret
    if current == policy:
        ret["comment"] = f"UFW default {direction} policy is already {policy}"
        return ret
    if current is None and __opts__["test"]:
        # ufw is not installed yet: its package brings its own default (deny on
        # Debian and Ubuntu), which the real run checks; nothing to predict
        ret["comment"] = f"UFW is not installed yet: its default {direction} policy is checked once it is"
        return ret
    change = {f"default {direction}": {"old": current, "new": policy}}
    if __opts__["test"]:
        ret.update(result=None, changes=change, comment=f"UFW default {direction} policy would be set to {policy}")
        return ret
    if not _run(ret, "maia_ufw.set_default_policy", policy, direction)[0]:
        return ret
    ok, after = _run(ret, "maia_ufw.default_policy", direction)
    if not ok:
        return ret
    if after != policy:
        ret.update(result=False, comment=f"UFW default {direction} policy is {after} after setting {policy}")
        return ret
    ret.update(changes=change, comment=f"UFW default {direction} policy set to {policy}")
    return ret


def enabled(name):
    """Ensure the firewall is active (and enabled at boot)."""
    return _set_active(name, True)


def disabled(name):
    """Ensure the firewall is inactive."""
    return _set_active(name, False)



def rules_valid(name, rules):
    """
    Fail (without changes) when any rule in ``rules`` is malformed, naming it.
    Meant to run first (``order: 1``, ``failhard``) so that a typo in pillar
    stops the run before the firewall is touched.
    """
    ret = maia_state_return.new(name)
    if not isinstance(rules, list):
        ret.update(result=False, comment=f"ufw rules: expected a list of {{port, proto, from}}, got {rules!r}")
        return ret
    errors = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            errors.append(f"rule {index}: {rule!r} is not a mapping of port, proto, from")
            continue
        try:
            __salt__["maia_ufw.normalize_rule"](rule)
        except SaltInvocationError as exc:
            errors.append(f"rule {index} {rule!r}: {exc}")
    if errors:
        ret.update(result=False, comment="maia:prepare:ufw_extra_rules is invalid, nothing changed:\n- " + "\n- ".join(errors))
        return ret
    ret["comment"] = f"{len(rules)} extra UFW rule(s) valid"
    return ret
