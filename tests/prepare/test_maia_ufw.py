"""Unit tests of _modules/maia_ufw.py and _states/maia_ufw.py (rule data, parsing of UFW's
own rules files and status, state logic with the execution module's calls
replaced by an in-memory firewall: no ufw runs on this machine)."""
import pytest
from salt.exceptions import SaltInvocationError

from prepare.conftest import load_salt_module

# As written by ufw 0.36 (Debian 12) after: allow 22/tcp; allow from
# 198.18.0.44; allow proto tcp from 198.18.0.44 to any port 2049; a route
# rule, an app rule, an interface rule and an outgoing rule (all ignored).
USER_RULES = """\
*filter
:ufw-user-input - [0:0]
### RULES ###

### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in
-A ufw-user-input -p tcp --dport 22 -j ACCEPT

### tuple ### allow any any 0.0.0.0/0 any 198.18.0.44 in
-A ufw-user-input -s 198.18.0.44 -j ACCEPT

### tuple ### allow tcp 2049 0.0.0.0/0 any 198.18.0.44 in comment=6d616961
-A ufw-user-input -p tcp --dport 2049 -s 198.18.0.44 -j ACCEPT

### tuple ### allow_log tcp 8080 0.0.0.0/0 any 10.0.0.0/8 in
### tuple ### limit tcp 30000:31000 0.0.0.0/0 any 0.0.0.0/0 in
### tuple ### route:allow any any 0.0.0.0/0 any 0.0.0.0/0 in
### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 OpenSSH - in
### tuple ### allow tcp 443 0.0.0.0/0 any 0.0.0.0/0 in_eth0
### tuple ### deny any any 0.0.0.0/0 any 0.0.0.0/0 out
### tuple ### garbage
### END RULES ###
"""
USER6_RULES = "### tuple ### allow tcp 22 ::/0 any ::/0 in\n"

STATUS_VERBOSE = """\
Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere
"""


def test_parse_rules_file_reads_incoming_plain_rules_only(ufw_mod):
    rules = ufw_mod.parse_rules_file(USER_RULES)
    assert rules == [
        {"action": "allow", "proto": "tcp", "port": "22", "from": "any"},
        {"action": "allow", "proto": "any", "port": "any", "from": "198.18.0.44"},
        {"action": "allow", "proto": "tcp", "port": "2049", "from": "198.18.0.44"},
        {"action": "allow", "proto": "tcp", "port": "8080", "from": "10.0.0.0/8"},
        {"action": "limit", "proto": "tcp", "port": "30000:31000", "from": "any"},
    ]


def test_rules_merges_v4_and_v6_files(ufw_mod, tmp_path):
    (tmp_path / "user.rules").write_text(USER_RULES)
    (tmp_path / "user6.rules").write_text(USER6_RULES)
    rules = ufw_mod.rules(rules_dir=str(tmp_path))
    assert rules.count({"action": "allow", "proto": "tcp", "port": "22", "from": "any"}) == 1
    assert ufw_mod.has_rule({"port": 22, "proto": "tcp"}, rules_dir=str(tmp_path))
    assert ufw_mod.has_rule({"from": "198.18.0.44/32"}, rules_dir=str(tmp_path))
    assert not ufw_mod.has_rule({"from": "198.18.0.45"}, rules_dir=str(tmp_path))
    assert not ufw_mod.has_rule({"port": 2049, "proto": "udp", "from": "198.18.0.44"}, rules_dir=str(tmp_path))


def test_rules_without_files_is_empty(ufw_mod, tmp_path):
    assert ufw_mod.rules(rules_dir=str(tmp_path)) == []


@pytest.mark.parametrize(
    "rule, args, text",
    [
        ({"port": 22, "proto": "tcp"}, ["allow", "proto", "tcp", "from", "any", "to", "any", "port", "22"], "allow 22/tcp from any"),
        ({"from": "198.18.0.12"}, ["allow", "from", "198.18.0.12", "to", "any"], "allow any port from 198.18.0.12"),
        ({"port": "30000-31000", "proto": "TCP", "from": "198.18.0.0/24"},
         ["allow", "proto", "tcp", "from", "198.18.0.0/24", "to", "any", "port", "30000:31000"],
         "allow 30000:31000/tcp from 198.18.0.0/24"),
        ({"port": 8080, "action": "deny"}, ["deny", "from", "any", "to", "any", "port", "8080"], "deny 8080 from any"),
        ({"from": "198.18.0.7/32"}, ["allow", "from", "198.18.0.7", "to", "any"], "allow any port from 198.18.0.7"),
    ],
)
def test_rule_args_and_describe(ufw_mod, rule, args, text):
    assert ufw_mod.rule_args(rule) == args
    assert ufw_mod.describe(rule) == text


@pytest.mark.parametrize(
    "rule, fragment",
    [
        ({"port": 70000}, "out of range"),
        ({"port": "30000:31000"}, "needs proto tcp or udp"),
        ({"port": "ssh"}, "not a port number"),
        ({"proto": "icmp"}, "proto"),
        ({"from": "example.org"}, "'from'"),
        ({"action": "accept"}, "action"),
        ({"prot": "tcp"}, "unknown field"),
    ],
)
def test_bad_rules_name_the_field(ufw_mod, rule, fragment):
    with pytest.raises(SaltInvocationError, match=fragment):
        ufw_mod.normalize_rule(rule)


def test_parse_status(ufw_mod):
    st = ufw_mod.parse_status(STATUS_VERBOSE)
    assert st["active"] is True
    assert st["defaults"] == {"incoming": "deny", "outgoing": "allow", "routed": "disabled"}
    assert ufw_mod.parse_status("Status: inactive\n")["active"] is False


class FakeFirewall:
    """In-memory UFW behind the execution module's functions."""

    def __init__(self, ufw_mod, active=False, rules=()):
        self.mod = ufw_mod
        self.active = active
        self.rules = [ufw_mod.normalize_rule(r) for r in rules]
        self.calls = []

    def salt(self):
        m = self.mod
        return {
            "maia_ufw.normalize_rule": m.normalize_rule,
            "maia_ufw.describe": m.describe,
            "maia_ufw.has_rule": lambda r: m.normalize_rule(r) in self.rules,
            "maia_ufw.add_rule": self._add,
            "maia_ufw.delete_rule": self._delete,
            "maia_ufw.status": lambda: {"installed": True, "active": self.active, "defaults": {}, "logging": None},
            "maia_ufw.enable": lambda: self._set(True),
            "maia_ufw.disable": lambda: self._set(False),
        }

    def _add(self, rule):
        self.calls.append(("add", rule))
        self.rules.append(self.mod.normalize_rule(rule))

    def _delete(self, rule):
        self.calls.append(("delete", rule))
        self.rules.remove(self.mod.normalize_rule(rule))

    def _set(self, value):
        self.calls.append(("active", value))
        self.active = value


def _states(ufw_mod, fw, test):
    return load_salt_module("_states/maia_ufw.py", "maia_test_ufw_state", salt=fw.salt(), opts={"test": test})


def test_rule_present_predicts_then_adds_then_is_idempotent(ufw_mod):
    fw = FakeFirewall(ufw_mod)
    predicted = _states(ufw_mod, fw, True).rule_present("r", port=2049, proto="tcp", source="198.18.0.44")
    assert predicted["result"] is None and fw.calls == []
    applied = _states(ufw_mod, fw, False).rule_present("r", port=2049, proto="tcp", source="198.18.0.44")
    assert applied["result"] is True
    assert applied["changes"] == predicted["changes"] == {"rule": {"old": None, "new": "allow 2049/tcp from 198.18.0.44"}}
    again = _states(ufw_mod, fw, False).rule_present("r", port=2049, proto="tcp", source="198.18.0.44")
    assert again["result"] is True and again["changes"] == {}
    assert len(fw.calls) == 1


def test_rule_present_bad_input_fails_without_calls(ufw_mod):
    fw = FakeFirewall(ufw_mod)
    ret = _states(ufw_mod, fw, False).rule_present("r", port="http")
    assert ret["result"] is False and "not a port number" in ret["comment"] and fw.calls == []


def test_rule_absent(ufw_mod):
    fw = FakeFirewall(ufw_mod, rules=[{"from": "198.18.0.44"}])
    st = _states(ufw_mod, fw, False)
    ret = st.rule_absent("r", source="198.18.0.44")
    assert ret["changes"] == {"rule": {"old": "allow any port from 198.18.0.44", "new": None}} and fw.rules == []
    assert st.rule_absent("r", source="198.18.0.44")["changes"] == {}


def test_enabled_predicts_and_enables_once(ufw_mod):
    fw = FakeFirewall(ufw_mod, active=False)
    predicted = _states(ufw_mod, fw, True).enabled("ufw")
    assert predicted["result"] is None and predicted["changes"] == {"active": {"old": False, "new": True}}
    assert fw.calls == []
    applied = _states(ufw_mod, fw, False).enabled("ufw")
    assert applied["changes"] == predicted["changes"] and fw.active is True
    assert _states(ufw_mod, fw, False).enabled("ufw")["changes"] == {}
    assert _states(ufw_mod, fw, False).disabled("ufw")["changes"] == {"active": {"old": True, "new": False}}


def test_rules_valid_lists_every_bad_rule(ufw_mod):
    fw = FakeFirewall(ufw_mod)
    st = _states(ufw_mod, fw, False)
    ok = st.rules_valid("v", [{"port": 8080, "proto": "tcp", "from": "198.18.0.0/24"}])
    assert ok["result"] is True
    bad = st.rules_valid("v", [{"port": 8080}, {"port": 99999}, "22/tcp"])
    assert bad["result"] is False
    assert "rule 1" in bad["comment"] and "rule 2" in bad["comment"] and "rule 0" not in bad["comment"]


# /etc/default/ufw as Debian 12's ufw 0.36 ships it (trimmed): the package default
# for incoming is DROP, but a host image may carry ACCEPT; the state sets it.
DEFAULTS = """\
IPV6=yes
DEFAULT_INPUT_POLICY="ACCEPT"
DEFAULT_OUTPUT_POLICY="ACCEPT"
DEFAULT_FORWARD_POLICY="DROP"
"""


def test_default_policy_read_from_the_defaults_file(ufw_mod, tmp_path):
    path = tmp_path / "ufw"
    path.write_text(DEFAULTS)
    assert ufw_mod.default_policy("incoming", defaults_file=str(path)) == "allow"
    assert ufw_mod.default_policy("routed", defaults_file=str(path)) == "deny"
    assert ufw_mod.default_policy("incoming", defaults_file=str(tmp_path / "none")) is None
    with pytest.raises(SaltInvocationError, match="direction"):
        ufw_mod.default_policy("sideways", defaults_file=str(path))


def test_default_policy_state_predicts_sets_once(ufw_mod, tmp_path):
    """The state reads the real file through the module; `ufw default` is replaced
    by an edit of that file (no ufw runs on this machine)."""
    path = tmp_path / "ufw"
    path.write_text(DEFAULTS)
    fw = FakeFirewall(ufw_mod)
    calls = []

    def set_policy(policy, direction):
        calls.append((policy, direction))
        path.write_text(path.read_text().replace('DEFAULT_INPUT_POLICY="ACCEPT"', 'DEFAULT_INPUT_POLICY="DROP"'))

    def funcs(test):
        st = _states(ufw_mod, fw, test)
        st.__salt__["maia_ufw.default_policy"] = lambda direction: ufw_mod.default_policy(direction, defaults_file=str(path))
        st.__salt__["maia_ufw.set_default_policy"] = set_policy
        return st

    predicted = funcs(True).default_policy("d", policy="deny", direction="incoming")
    assert predicted["result"] is None and calls == []
    assert predicted["changes"] == {"default incoming": {"old": "allow", "new": "deny"}}
    applied = funcs(False).default_policy("d", policy="deny", direction="incoming")
    assert applied["result"] is True and applied["changes"] == predicted["changes"] and calls == [("deny", "incoming")]
    again = funcs(False).default_policy("d", policy="deny", direction="incoming")
    assert again["changes"] == {} and len(calls) == 1


def test_default_policy_before_ufw_is_installed_predicts_nothing(ufw_mod, tmp_path):
    """test=True on a fresh host: no /etc/default/ufw yet. The package's own default
    is only known once it is installed, so no change is predicted (and none is made)."""
    fw = FakeFirewall(ufw_mod)
    st = _states(ufw_mod, fw, True)
    st.__salt__["maia_ufw.default_policy"] = lambda direction: ufw_mod.default_policy(direction, defaults_file=str(tmp_path / "none"))
    ret = st.default_policy("d", policy="deny", direction="incoming")
    assert ret["result"] is True and ret["changes"] == {} and "not installed yet" in ret["comment"]
