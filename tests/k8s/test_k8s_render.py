"""maia.k8s renders the right states for each combination of flags (salt-call --local state.show_sls).

No stand-in is called: rendering only. MetalK8s-style table of cases.
"""

import pytest

from k8s.harness import make_site

DUMMY_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
users: [{name: u, user: {token: t}}]
"""

ALWAYS = {
    "maia-k8s-client-packages-skipped",
    "maia-k8s-microk8s-ready",
    "maia-k8s-microk8s-kubeconfig-written",
    # the controller's copy compared with the export (or with what a site put at the export paths)
    "maia-k8s-export-compared",
}
INSTALL = {
    "maia-k8s-microk8s-launch-config-managed",
    "maia-k8s-microk8s-snap-installed",
    "maia-k8s-microk8s-addons-enabled",
    "maia-k8s-microk8s-node-labeled",
    # containerd's proxy block (removed, or none, without proxy_ip) and the restart it triggers
    "maia-k8s-microk8s-proxy-environment",
    "maia-k8s-microk8s-proxy-restarted-when-changed",
}
EXPORT = {"maia-k8s-microk8s-kubeconfig-exported", "maia-k8s-microk8s-ca-exported"}
OIDC = {"maia-k8s-oidc-domain-set", "maia-k8s-oidc-apiserver-args-set", "maia-k8s-oidc-microk8s-restarted-when-changed"}
CA = {
    "maia-k8s-ca-files-present",
    "maia-k8s-ca-namespace-cert-manager-present",
    "maia-k8s-ca-namespace-istio-system-present",
    "maia-k8s-ca-secret-kubernetes-ca-present",
    "maia-k8s-ca-configmap-internal-ca-present",
}
ARGOCD = {
    "maia-k8s-argocd-namespace-present",
    "maia-k8s-argocd-admin-password-set",
    "maia-k8s-argocd-manifest-downloaded",
    "maia-k8s-argocd-manifest-applied",
    "maia-k8s-argocd-service-account-present",
    "maia-k8s-argocd-service-account-admin-bound",
}
OFF = {"oidc": "maia-k8s-oidc-skipped", "ca": "maia-k8s-ca-skipped", "argocd": "maia-k8s-argocd-skipped"}

CASES = {
    "defaults": ({}, ALWAYS | INSTALL | EXPORT | OIDC | CA | ARGOCD),
    "all-off": (
        {"install_microk8s": False, "enable_oidc_microk8s": False, "enable_ca": False, "install_argocd": False},
        ALWAYS | set(OFF.values()),
    ),
    "connect-only": (
        {"install_microk8s": False, "connect_to_microk8s": True, "enable_oidc_microk8s": False,
         "enable_ca": False, "install_argocd": False, "connect_to_argocd": True},
        ALWAYS | EXPORT | {OFF["oidc"], OFF["ca"], "maia-k8s-argocd-crds-established"},
    ),
    "admin-users": (
        {"admin_users": ["alice"]},
        ALWAYS | INSTALL | EXPORT | OIDC | CA | ARGOCD | {"maia-k8s-microk8s-user-alice-in-group-microk8s"},
    ),
    "extra-commands": (
        {"argocd": {"extra_commands": ["true", {"name": "echo ok", "unless": "true"}]}},
        ALWAYS | INSTALL | EXPORT | OIDC | CA | ARGOCD
        | {"maia-k8s-argocd-extra-command-1", "maia-k8s-argocd-extra-command-2"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_states_per_flags(case, tmp_path):
    flags, expected = CASES[case]
    site = make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9",
                     {"maia": {"k8s": flags}})
    rc, data, proc = site.salt_call("state.show_sls", "maia.k8s")
    assert rc == 0 and isinstance(data, dict), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert set(data) == expected


def test_ufw_rules_follow_the_prepare_flag(tmp_path):
    site = make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9",
                     {"maia": {"prepare": {"ufw": True}}})
    rc, data, _ = site.salt_call("state.show_sls", "maia.k8s.microk8s")
    assert rc == 0
    rules = {k: v for k, v in data.items() if k.startswith("maia-k8s-microk8s-ufw-")}
    assert set(rules) == {f"maia-k8s-microk8s-ufw-{p}-tcp-allowed" for p in (16443, 80, 443)}


def test_oidc_values_from_cluster_yaml(tmp_path):
    site = make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9",
                     {"maia": {"cluster": {"domain": "example.org", "externalCA": {"cert": "/etc/ext/ca.pem",
                                                                                   "key": "/etc/ext/ca.key"}}}})
    rc, data, _ = site.salt_call("state.show_sls", "maia.k8s.oidc")
    assert rc == 0
    args = data["maia-k8s-oidc-apiserver-args-set"]["maia_microk8s"]
    flags = next(a["flags"] for a in args if isinstance(a, dict) and "flags" in a)
    assert flags["--oidc-issuer-url"] == "https://iam.example.org/realms/maia"
    assert flags["--oidc-ca-file"] == "/etc/ext/ca.pem"


def test_argocd_pins_url_and_checksum_by_default(tmp_path):
    site = make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9")
    site.pillar["maia"]["k8s"]["argocd"].pop("manifest_url")
    site.pillar["maia"]["k8s"]["argocd"].pop("manifest_sha256")
    site.write_pillar()
    rc, data, _ = site.salt_call("state.show_sls", "maia.k8s.argocd")
    assert rc == 0
    fm = {k: v for d in data["maia-k8s-argocd-manifest-downloaded"]["file"] if isinstance(d, dict) for k, v in d.items()}
    assert fm["source"].endswith("/v3.5.1/manifests/install.yaml")
    assert fm["source_hash"] == "sha256=795a3a972224da6a7f9d32c3e946445f062b60fb46028476715affeb688236e3"


def test_api_and_web_ports_limited_to_admin_networks(tmp_path):
    """maia:k8s:api_allowed_sources / web_allowed_sources: 16443 (and 80/443) open
    only from the given networks, and the earlier rule from anywhere is removed."""
    site = make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9",
                     {"maia": {"prepare": {"ufw": True},
                               "k8s": {"api_allowed_sources": ["10.10.0.0/24", "fd00::/64"],
                                       "web_allowed_sources": ["192.0.2.0/24"]}}})
    rc, data, proc = site.salt_call("state.show_sls", "maia.k8s.microk8s")
    assert rc == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rules = {k: v["maia_ufw"] for k, v in data.items() if k.startswith("maia-k8s-microk8s-ufw-")}

    def args(sid):
        return {k: v for item in rules[sid] if isinstance(item, dict) for k, v in item.items() if k not in ("require", "order")}

    assert set(rules) == {
        "maia-k8s-microk8s-ufw-16443-tcp-from-any-absent",
        "maia-k8s-microk8s-ufw-16443-tcp-from-10.10.0.0_24-allowed",
        "maia-k8s-microk8s-ufw-16443-tcp-from-fd00___64-allowed",
        "maia-k8s-microk8s-ufw-80-tcp-from-any-absent",
        "maia-k8s-microk8s-ufw-80-tcp-from-192.0.2.0_24-allowed",
        "maia-k8s-microk8s-ufw-443-tcp-from-any-absent",
        "maia-k8s-microk8s-ufw-443-tcp-from-192.0.2.0_24-allowed",
    }
    assert args("maia-k8s-microk8s-ufw-16443-tcp-from-10.10.0.0_24-allowed") == {
        "port": 16443, "proto": "tcp", "source": "10.10.0.0/24"}
    assert "rule_absent" in rules["maia-k8s-microk8s-ufw-16443-tcp-from-any-absent"]


def service_dist_cases(name, install):
    """The states of a distribution that runs as a systemd service (k3s, k0s, rke2) per flag combination."""
    always = {"maia-k8s-client-packages-skipped", f"maia-k8s-{name}-running", f"maia-k8s-{name}-kubeconfig-written",
              "maia-k8s-export-compared"}
    export = {f"maia-k8s-{name}-kubeconfig-exported", f"maia-k8s-{name}-ca-exported"}
    oidc = {"maia-k8s-oidc-domain-set", f"maia-k8s-oidc-{name}-settings-merged"}
    connect = {f"install_{name}": False, f"connect_to_{name}": True, f"enable_oidc_{name}": False,
               "enable_ca": False, "install_argocd": False}
    return {(name, "defaults"): ({}, always | install | export | oidc | CA | ARGOCD),
            (name, "connect"): (connect, always | export | {OFF["oidc"], OFF["ca"], OFF["argocd"]})}


SERVICE_DIST_CASES = {
    **service_dist_cases("k3s", {"maia-k8s-k3s-binary-installed", "maia-k8s-k3s-settings-merged",
                                 "maia-k8s-k3s-unit-managed", "maia-k8s-k3s-proxy-environment"}),
    **service_dist_cases("k0s", {"maia-k8s-k0s-binary-installed", "maia-k8s-k0s-settings-merged",
                                 "maia-k8s-k0s-unit-installed", "maia-k8s-k0s-proxy-environment"}),
    **service_dist_cases("rke2", {"maia-k8s-rke2-release-downloaded", "maia-k8s-rke2-release-unpacked",
                                  "maia-k8s-rke2-settings-merged", "maia-k8s-rke2-proxy-environment"}),
}


@pytest.mark.parametrize("case", sorted(SERVICE_DIST_CASES), ids="-".join)
def test_service_distribution_states_per_flags(case, tmp_path):
    """K8S_DISTRIBUTION=k3s, k0s or rke2: maia.k8s renders that distribution's parts (no MicroK8s
    state), and the same OIDC, CA and ArgoCD parts as for MicroK8s."""
    flags, expected = SERVICE_DIST_CASES[case]
    site = make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9",
                     {"maia": {"cluster": {"k8s_distribution": case[0]}, "k8s": flags}})
    rc, data, proc = site.salt_call("state.show_sls", "maia.k8s")
    assert rc == 0 and isinstance(data, dict), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert set(data) == expected


def test_k3s_release_pinned_ports_and_restart_watch(tmp_path):
    """The k3s binary comes from the pinned release, checked (the release's checksum list
    unless a sha256 is pinned); UFW opens 6443/80/443; the service restarts only through
    its watch of the binary, the unit and the settings (OIDC's included)."""
    site = make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9",
                     {"maia": {"cluster": {"k8s_distribution": "k3s"}, "prepare": {"ufw": True}}})
    rc, data, proc = site.salt_call("state.show_sls", "maia.k8s")
    assert rc == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    def args(sid, mod):
        return {k: v for item in data[sid][mod] if isinstance(item, dict) for k, v in item.items()}

    binary = args("maia-k8s-k3s-binary-installed", "file")
    assert binary["source"] == "https://github.com/k3s-io/k3s/releases/download/v1.34.1%2Bk3s1/k3s"
    assert binary["source_hash"] == "https://github.com/k3s-io/k3s/releases/download/v1.34.1%2Bk3s1/sha256sum-amd64.txt"
    assert binary["source_hash_name"] == "k3s"
    assert {k for k in data if "-ufw-" in k} == {f"maia-k8s-k3s-ufw-{p}-tcp-allowed" for p in (6443, 80, 443)}
    watched = {next(iter(w.items())) for w in args("maia-k8s-k3s-running", "maia_k8s_dist")["watch"]}
    assert watched == {("file", "maia-k8s-k3s-binary-installed"), ("file", "maia-k8s-k3s-unit-managed"),
                       ("file", "maia-k8s-k3s-proxy-environment"), ("maia_k8s_dist", "maia-k8s-k3s-settings-merged")}
    assert "absent" in data["maia-k8s-k3s-proxy-environment"]["file"]  # no proxy_ip: no environment file
    oidc = args("maia-k8s-oidc-k3s-settings-merged", "maia_k8s_dist")
    assert oidc["watch_in"] == [{"maia_k8s_dist": "maia-k8s-k3s-running"}]
    site.write_pillar({"maia": {"k8s": {"k3s": {"release": {"url": "file:///srv/k3s/k3s", "sha256": "ab" * 32}}}}})
    rc, data, _ = site.salt_call("state.show_sls", "maia.k8s.k3s")
    binary = args("maia-k8s-k3s-binary-installed", "file")
    assert binary["source"] == "file:///srv/k3s/k3s" and binary["source_hash"] == "sha256=" + "ab" * 32
    assert "source_hash_name" not in binary


def k0s_site(tmp_path, pillar=None):
    return make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9",
                     {"maia": {"cluster": {"k8s_distribution": "k0s"}, **(pillar or {})}})


def state_args(data, sid, mod):
    return {k: v for item in data[sid][mod] if isinstance(item, dict) for k, v in item.items()}


def test_k0s_release_pinned_config_given_to_its_installer_and_restart_watch(tmp_path):
    """The k0s binary of the pinned release, checked against the pinned sha256; `k0s install
    controller` is given the settings file (and its unit must name it); UFW opens 6443/80/443;
    the service restarts only through its watch of the binary, the settings (OIDC's, as
    spec.api.extraArgs), the unit and the proxy drop-in."""
    site = k0s_site(tmp_path, {"prepare": {"ufw": True}})
    rc, data, proc = site.salt_call("state.show_sls", "maia.k8s")
    assert rc == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    binary = state_args(data, "maia-k8s-k0s-binary-installed", "file")
    assert binary["source"] == ("https://github.com/k0sproject/k0s/releases/download/v1.34.2%2Bk0s.0/"
                                "k0s-v1.34.2%2Bk0s.0-amd64")
    assert binary["source_hash"] == "sha256=8265cef494a5af5ac6f34132700f867366e4552a327130cbf830501be8e8820e"
    unit = state_args(data, "maia-k8s-k0s-unit-installed", "maia_k8s_dist")
    assert unit["name"] == "/etc/systemd/system/k0scontroller.service"
    assert unit["install_cmd"] == ["/usr/local/bin/k0s", "install", "controller", "--single",
                                   "--config", "/etc/k0s/k0s.yaml", "--data-dir", "/var/lib/k0s"]
    assert "--config=/etc/k0s/k0s.yaml" in unit["exec_args"]
    assert {k for k in data if "-ufw-" in k} == {f"maia-k8s-k0s-ufw-{p}-tcp-allowed" for p in (6443, 80, 443)}
    watched = {next(iter(w.items())) for w in state_args(data, "maia-k8s-k0s-running", "maia_k8s_dist")["watch"]}
    assert watched == {("file", "maia-k8s-k0s-binary-installed"), ("maia_k8s_dist", "maia-k8s-k0s-settings-merged"),
                       ("maia_k8s_dist", "maia-k8s-k0s-unit-installed"), ("file", "maia-k8s-k0s-proxy-environment")}
    oidc = state_args(data, "maia-k8s-oidc-k0s-settings-merged", "maia_k8s_dist")
    assert oidc["name"] == "/etc/k0s/k0s.yaml" and oidc["watch_in"] == [{"maia_k8s_dist": "maia-k8s-k0s-running"}]
    assert oidc["settings"]["spec"]["api"]["extraArgs"] == {
        "oidc-issuer-url": "https://iam.maia.example.test/realms/maia", "oidc-client-id": "maia",
        "oidc-username-claim": "email", "oidc-groups-claim": "groups", "oidc-ca-file": "/var/lib/k0s/pki/ca.crt"}
    settings = state_args(data, "maia-k8s-k0s-settings-merged", "maia_k8s_dist")["settings"]
    assert settings[0]["kind"] == "ClusterConfig"
    assert settings[0]["spec"]["api"]["sans"] == ["maia.example.test", "198.18.0.11"]
    ca = state_args(data, "maia-k8s-ca-secret-kubernetes-ca-present", "maia_k8s")
    assert ca["files"] == {"tls.crt": "/var/lib/k0s/pki/ca.crt", "tls.key": "/var/lib/k0s/pki/ca.key"}
    assert "absent" in data["maia-k8s-k0s-proxy-environment"]["file"]  # no proxy_ip: no drop-in
    site.write_pillar({"maia": {"k8s": {"k0s": {"release": {"url": "file:///srv/k0s/k0s", "sha256": "ab" * 32}}},
                                "cluster": {"proxy_ip": "10.0.0.1"}}})
    rc, data, _ = site.salt_call("state.show_sls", "maia.k8s.k0s")
    binary = state_args(data, "maia-k8s-k0s-binary-installed", "file")
    assert binary["source"] == "file:///srv/k0s/k0s" and binary["source_hash"] == "sha256=" + "ab" * 32
    dropin = state_args(data, "maia-k8s-k0s-proxy-environment", "file")
    assert dropin["name"] == "/etc/systemd/system/k0scontroller.service.d/maia-proxy.conf"
    assert 'Environment="HTTPS_PROXY=http://10.0.0.1:3130"' in dropin["contents"].splitlines()


def test_k0s_clean_removes_its_oidc_arguments_then_the_service_and_files(tmp_path):
    rc, data, proc = k0s_site(tmp_path).salt_call("state.show_sls", "maia.k8s.clean")
    assert rc == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    removed = state_args(data, "maia-k8s-oidc-clean-k0s-settings-removed", "maia_k8s_dist")
    assert removed["name"] == "/etc/k0s/k0s.yaml" and "extraArgs" in removed["settings"]["spec"]["api"]
    assert state_args(data, "maia-k8s-k0s-clean-service-dead", "maia_k8s_dist")["name"] == "k0scontroller"
    files = state_args(data, "maia-k8s-k0s-clean-files-absent", "file")["names"]
    assert {"/usr/local/bin/k0s", "/etc/systemd/system/k0scontroller.service", "/etc/k0s/k0s.yaml",
            "/var/lib/k0s"} <= set(files)


def rke2_site(tmp_path, pillar=None):
    return make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9",
                     {"maia": {"cluster": {"k8s_distribution": "rke2"}, **(pillar or {})}})


def test_rke2_release_tarball_pinned_settings_oidc_ca_and_restart_watch(tmp_path):
    """rke2's release tarball of the pinned version, checked against the release's checksum list
    (or a pinned sha256), kept in the cache and unpacked into /usr/local; config.yaml gets the
    SANs, the bundled ingress-nginx disabled, the five OIDC flags as kube-apiserver-arg; CA and
    export from rke2's server/tls; UFW 6443/80/443; the service restarts only through its watch
    of the unpacked release, the settings and the proxy environment file."""
    site = rke2_site(tmp_path, {"prepare": {"ufw": True}})
    rc, data, proc = site.salt_call("state.show_sls", "maia.k8s")
    assert rc == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    release = "https://github.com/rancher/rke2/releases/download/v1.34.2%2Brke2r1/"
    tarball = state_args(data, "maia-k8s-rke2-release-downloaded", "file")
    assert tarball["name"] == "/var/cache/maia/rke2-v1.34.2+rke2r1.linux-amd64.tar.gz"
    assert tarball["source"] == release + "rke2.linux-amd64.tar.gz"
    assert tarball["source_hash"] == release + "sha256sum-amd64.txt"
    assert tarball["source_hash_name"] == "rke2.linux-amd64.tar.gz" and tarball["mode"] == "0644"
    unpacked = state_args(data, "maia-k8s-rke2-release-unpacked", "maia_k8s_dist")
    assert unpacked["name"] == "/usr/local" and unpacked["archive"] == tarball["name"]
    settings = state_args(data, "maia-k8s-rke2-settings-merged", "maia_k8s_dist")
    assert settings["name"] == "/etc/rancher/rke2/config.yaml"
    assert settings["settings"][0] == {"tls-san": ["maia.example.test", "198.18.0.11"], "disable": ["rke2-ingress-nginx"],
                                       "write-kubeconfig-mode": "0600", "node-name": settings["settings"][0]["node-name"]}
    oidc = state_args(data, "maia-k8s-oidc-rke2-settings-merged", "maia_k8s_dist")
    assert oidc["name"] == "/etc/rancher/rke2/config.yaml" and oidc["watch_in"] == [{"maia_k8s_dist": "maia-k8s-rke2-running"}]
    assert oidc["settings"]["kube-apiserver-arg"] == [
        "oidc-issuer-url=https://iam.maia.example.test/realms/maia", "oidc-client-id=maia", "oidc-username-claim=email",
        "oidc-groups-claim=groups", "oidc-ca-file=/var/lib/rancher/rke2/server/tls/server-ca.crt"]
    running = state_args(data, "maia-k8s-rke2-running", "maia_k8s_dist")
    assert running["name"] == "rke2-server"
    assert running["kubectl_cmd"] == ["/var/lib/rancher/rke2/bin/kubectl", "--kubeconfig", "/etc/rancher/rke2/rke2.yaml"]
    assert {next(iter(w.items())) for w in running["watch"]} == {
        ("maia_k8s_dist", "maia-k8s-rke2-release-unpacked"), ("maia_k8s_dist", "maia-k8s-rke2-settings-merged"),
        ("file", "maia-k8s-rke2-proxy-environment")}
    assert {k for k in data if "-ufw-" in k} == {f"maia-k8s-rke2-ufw-{p}-tcp-allowed" for p in (6443, 80, 443)}
    ca = state_args(data, "maia-k8s-ca-secret-kubernetes-ca-present", "maia_k8s")
    assert ca["files"] == {"tls.crt": "/var/lib/rancher/rke2/server/tls/server-ca.crt",
                           "tls.key": "/var/lib/rancher/rke2/server/tls/server-ca.key"}
    exported = state_args(data, "maia-k8s-rke2-kubeconfig-exported", "maia_microk8s")
    assert exported["source"] == "/etc/rancher/rke2/rke2.yaml" and exported["server"] == "https://198.18.0.11:6443"
    assert "absent" in data["maia-k8s-rke2-proxy-environment"]["file"]  # no proxy_ip: no environment file
    # offline: a local copy with its sha256; behind a proxy: rke2-server's environment file
    site.write_pillar({"maia": {"k8s": {"rke2": {"release": {"url": "file:///srv/rke2/rke2.linux-amd64.tar.gz",
                                                             "sha256": "ab" * 32}}},
                                "cluster": {"proxy_ip": "10.0.0.1"}}})
    rc, data, _ = site.salt_call("state.show_sls", "maia.k8s.rke2")
    tarball = state_args(data, "maia-k8s-rke2-release-downloaded", "file")
    assert tarball["source"] == "file:///srv/rke2/rke2.linux-amd64.tar.gz"
    assert tarball["source_hash"] == "sha256=" + "ab" * 32 and "source_hash_name" not in tarball
    environment = state_args(data, "maia-k8s-rke2-proxy-environment", "file")
    assert environment["name"] == "/etc/default/rke2-server" and environment["mode"] == "0600"
    assert "HTTPS_PROXY=http://10.0.0.1:3130" in environment["contents"].splitlines()


def test_rke2_clean_removes_its_oidc_entries_then_the_service_and_files(tmp_path):
    rc, data, proc = rke2_site(tmp_path).salt_call("state.show_sls", "maia.k8s.clean")
    assert rc == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    removed = state_args(data, "maia-k8s-oidc-clean-rke2-settings-removed", "maia_k8s_dist")
    assert removed["name"] == "/etc/rancher/rke2/config.yaml" and "kube-apiserver-arg" in removed["settings"]
    assert state_args(data, "maia-k8s-rke2-clean-service-dead", "maia_k8s_dist")["name"] == "rke2-server"
    files = state_args(data, "maia-k8s-rke2-clean-files-absent", "file")["names"]
    assert {"/usr/local/bin/rke2", "/usr/local/lib/systemd/system/rke2-server.service", "/etc/rancher/rke2/config.yaml",
            "/etc/default/rke2-server", "/var/cache/maia/rke2-v1.34.2+rke2r1.linux-amd64.tar.gz",
            "/var/lib/rancher/rke2"} <= set(files)
