"""Unit tests of maia_core: Application/AppProject specs built from pillar over
a table of sites (distribution, private registry, overrides, switches, selfsigned).
tests/core/test_parity.py compares the same specs with maia-toolkit itself; these
tests pin the behaviour that parity test cannot see (overrides, switches, errors)."""
import json

import pytest

from core.helpers import SECRETS, site_pillar

MAIA_GIT = "https://github.com/minnelab/MAIA.git"
CATALOGUE = {
    # component: (chart or git path, repo, version, namespace), as maia-toolkit 2.5.0
    "prometheus": ("kube-prometheus-stack", "https://prometheus-community.github.io/helm-charts", "45.5.0", "observability"),
    "loki": ("loki-stack", "https://grafana.github.io/helm-charts", "2.9.9", "observability"),
    "tempo": ("tempo", "https://grafana.github.io/helm-charts", "1.0.0", "observability"),
    "traefik": ("traefik", "https://traefik.github.io/charts", "33.2.1", "traefik"),
    "ingress-nginx": ("ingress-nginx", "https://kubernetes.github.io/ingress-nginx", "4.11.3", "ingress-nginx"),
    "metallb": ("metallb", "https://metallb.github.io/metallb", "0.14.9", "metallb-system"),
    "cert-manager": ("cert-manager", "https://charts.jetstack.io", "1.16.2", "cert-manager"),
    "gpu-operator": ("gpu-operator", "https://helm.ngc.nvidia.com/nvidia", "25.3.1", "gpu-operator"),
    "nfs-provisioner": ("nfs-subdir-external-provisioner", "https://kubernetes-sigs.github.io/nfs-subdir-external-provisioner/", "4.0.18", "nfs-server-provisioner"),
    "metrics-server": ("metrics-server", "https://kubernetes-sigs.github.io/metrics-server/", "3.13.0", "metrics-server"),
    "minio-operator": ("operator", "https://operator.min.io", "6.0.4", "minio-operator"),
    "loginapp": ("loginapp", "https://storage.googleapis.com/loginapp-releases/charts/", "1.3.0", "authentication"),
    "toolkit": ("charts/maia-core-toolkit", MAIA_GIT, "v2.5.0", "maia-core-toolkit"),
    "gpu-booking": ("charts/gpu-booking", MAIA_GIT, "v2.5.0", "maia-webhooks"),
    "local-path": ("charts/maia-core-local-path", MAIA_GIT, "v2.5.0", "local-path-storage"),
    "kubeflow": ("charts/maia-kubeflow", MAIA_GIT, "v2.5.0", "kubeflow"),
}
OCI_VERSIONS = {"toolkit": "0.2.3", "gpu-booking": "1.0.0", "local-path": "0.1.0", "kubeflow": "1.0.0"}

REFERENCE_NAMESPACES = [
    "observability", "metrics-server", "traefik", "metallb-system", "cert-manager", "gpu-operator",
    "maia-core-toolkit", "ingress-nginx", "minio-operator", "authentication",
    "maia-webhooks", "nfs-server-provisioner", "local-path-storage", "kubeflow",
]

CONTAINERD = {
    "microk8s": ("/var/snap/microk8s/current/args/containerd-template.toml", "/var/snap/microk8s/common/run/containerd.sock"),
    "k3s": ("/var/lib/rancher/k3s/agent/etc/containerd/config.toml", "/run/k3s/containerd/containerd.sock"),
    "rke2": ("/var/lib/rancher/rke2/agent/etc/containerd/config.toml.tmpl", "/run/k3s/containerd/containerd.sock"),
    "k0s": ("/etc/k0s/containerd.d/nvidia.toml", "/run/k0s/containerd.sock"),
}


def apps_by_component(data):
    return {app["component"]: app for app in data["apps"]}


def values(data, component):
    return apps_by_component(data)[component]["spec"]["source"]["helm"]["valuesObject"]


def env_of(toolkit_env):
    return {e["name"]: e["value"] for e in toolkit_env}


def extra_object(traefik, kind, name):
    return next(o for o in traefik["extraObjects"] if o["kind"] == kind and o["metadata"]["name"] == name)


# ---------------------------------------------------------------- catalogue


def test_default_site_has_every_catalogue_app_with_pinned_chart(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar())
    apps = apps_by_component(data)
    assert set(apps) == set(CATALOGUE) - {"ingress-nginx"}  # microk8s: traefik
    for component, (chart, repo, version, namespace) in CATALOGUE.items():
        if component not in apps:
            continue
        app = apps[component]
        spec = app["spec"]
        assert app["name"] == f"maia-core-{component}"
        assert spec["project"] == "maia-core"
        assert spec["source"].get("chart", spec["source"].get("path")) == chart
        assert spec["source"]["repoURL"] == repo
        assert spec["source"]["targetRevision"] == version
        assert spec["source"]["helm"]["releaseName"] == f"maia-core-{component}"
        assert spec["destination"] == {"server": "https://kubernetes.default.svc", "namespace": namespace}
        assert spec["source"]["helm"]["valuesObject"].get("namespace", namespace) == namespace


def test_apps_are_ordered_by_sync_wave(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar())
    waves = [app["sync_wave"] for app in data["apps"]]
    assert waves == sorted(waves)
    order = [app["component"] for app in data["apps"]]
    assert order.index("cert-manager") < order.index("toolkit")
    assert order.index("traefik") < order.index("loginapp")


def test_namespaces_are_the_reference_list(maia_core, defaults):
    assert maia_core.mapdata(defaults, site_pillar())["namespaces"] == REFERENCE_NAMESPACES


def test_project_spec(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar())
    project = data["project"]
    assert project["name"] == "maia-core" and project["namespace"] == "argocd"
    spec = project["spec"]
    role = spec["roles"][0]
    assert role["name"] == "admin" and role["groups"] == ["MAIA:admin"]
    assert role["policies"] == ["p, proj:maia-core:admin, applications, get, maia-core/*, allow"]
    destinations = [d["namespace"] for d in spec["destinations"]]
    assert destinations[0] == "maia-core"
    assert {"kube-system", "argocd"} | (set(REFERENCE_NAMESPACES) - {"ingress-nginx"}) <= set(destinations)
    assert {d["server"] for d in spec["destinations"]} == {"https://kubernetes.default.svc"}
    assert {a["spec"]["source"]["repoURL"] for a in data["apps"]} <= set(spec["sourceRepos"])
    assert MAIA_GIT in spec["sourceRepos"] and "https://minnelab.github.io/MAIA/" in spec["sourceRepos"]
    kinds = [w["kind"] for w in spec["clusterResourceWhitelist"]]
    assert kinds == ["Namespace", "ClusterRoleBinding", "ClusterRole", "CustomResourceDefinition",
                     "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "IngressClass",
                     "APIService", "PriorityClass", "ClusterPolicy", "ClusterIssuer", "StorageClass"]


@pytest.mark.parametrize(
    "address, project, server",
    [
        ("https://10.1.2.3:6443", "maia-core-maia-cluster", "https://10.1.2.3:6443"),
        ("https://rancher.example.com/k8s/clusters/local", "maia-core", "https://kubernetes.default.svc"),
        ("https://kubernetes.default.svc", "maia-core", "https://kubernetes.default.svc"),
    ],
)
def test_remote_destination_gets_its_own_project_and_names(maia_core, defaults, address, project, server):
    data = maia_core.mapdata(defaults, site_pillar(cluster={"argocd_destination_cluster_address": address}))
    assert data["project"]["name"] == project
    for app in data["apps"]:
        assert app["name"] == f"{project}-{app['component']}"
        assert app["spec"]["source"]["helm"]["releaseName"] == app["name"]
        assert app["spec"]["project"] == project
        assert app["spec"]["destination"]["server"] == server
    assert {d["server"] for d in data["project"]["spec"]["destinations"]} == {server}


def test_remote_destination_needs_the_cluster_name(maia_core, defaults):
    pillar = site_pillar(cluster={"argocd_destination_cluster_address": "https://10.1.2.3:6443"})
    pillar["cluster"].pop("cluster_name")
    with pytest.raises(maia_core.MaiaCoreConfigError, match="maia:cluster:cluster_name"):
        maia_core.mapdata(defaults, pillar)


def test_admin_group_and_argocd_namespace_come_from_env(maia_core, defaults):
    pillar = site_pillar(env={"admin_group_ID": "SITE:admins", "argocd_namespace": "gitops"})
    data = maia_core.mapdata(defaults, pillar)
    assert data["argocd_namespace"] == "gitops"
    assert data["project"]["namespace"] == "gitops"
    assert data["project"]["spec"]["roles"][0]["groups"] == ["SITE:admins"]
    oauth = values(data, "prometheus")["grafana"]["grafana.ini"]["auth.generic_oauth"]
    assert oauth["role_attribute_path"] == "contains(groups[*], 'SITE:admins') && 'Admin' || 'Viewer'"


# ---------------------------------------------------------------- values from cluster config


def test_grafana_oauth_and_tls(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar())
    grafana = values(data, "prometheus")["grafana"]
    oauth = grafana["grafana.ini"]["auth.generic_oauth"]
    iam = "https://iam.maia.example.com/realms/maia"
    assert oauth["client_id"] == "maia"
    assert oauth["client_secret"] == SECRETS["keycloak_client_secret"]
    assert oauth["auth_url"] == f"{iam}/protocol/openid-connect/auth"
    assert oauth["token_url"] == f"{iam}/protocol/openid-connect/token"
    assert oauth["api_url"] == f"{iam}/protocol/openid-connect/userinfo"
    assert "'MAIA:admin') && 'Admin'" in oauth["role_attribute_path"]
    assert grafana["ingress"]["hosts"] == ["grafana.maia.example.com"]
    assert grafana["ingress"]["tls"] == [{"hosts": ["grafana.maia.example.com"]}]
    assert grafana["ingress"]["annotations"] == {
        "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
        "traefik.ingress.kubernetes.io/router.tls": "true",
        "traefik.ingress.kubernetes.io/router.tls.certresolver": "maiaresolver",
    }
    endpoints = values(data, "prometheus")["kubeControllerManager"]["endpoints"]
    assert endpoints == ["198.18.0.11"]  # the control plane; maia-node-1 is an NFS client only


def test_node_exporter_reads_the_drift_metric_folder_only_when_switched_on(maia_core, defaults):
    """maia:core:drift_metric off (the default): the reference's values, no node-exporter key; on:
    node-exporter's textfile collector reads maia:drift:textfile_dir through the host root the
    chart mounts at /host/root, and the chart's own two filesystem arguments are kept."""
    assert "prometheus-node-exporter" not in values(maia_core.mapdata(defaults, site_pillar()), "prometheus")
    pillar = site_pillar(core={"drift_metric": True, "drift_textfile_dir": "/var/lib/maia/metrics/"})
    args = values(maia_core.mapdata(defaults, pillar), "prometheus")["prometheus-node-exporter"]["extraArgs"]
    assert args[-1] == "--collector.textfile.directory=/host/root/var/lib/maia/metrics"
    assert [a.split("=")[0] for a in args[:-1]] == ["--collector.filesystem.mount-points-exclude",
                                                    "--collector.filesystem.fs-types-exclude"]


def test_drift_metric_needs_an_absolute_textfile_folder(maia_core, defaults):
    pillar = site_pillar(core={"drift_metric": "true", "drift_textfile_dir": "metrics"})
    with pytest.raises(Exception, match="maia:drift:textfile_dir 'metrics' is not an absolute path"):
        maia_core.mapdata(defaults, pillar)


def test_traefik_acme_resolver_and_global_arguments(maia_core, defaults):
    traefik = values(maia_core.mapdata(defaults, site_pillar()), "traefik")
    acme = traefik["certificatesResolvers"]["maiaresolver"]["acme"]
    assert acme == {
        "email": "admin@example.com",
        "httpchallenge": {"entryPoint": "web"},
        "storage": "/data/acme.json",
        "caserver": "https://acme-v02.api.letsencrypt.org/directory",
    }
    assert "--entryPoints.websecure.forwardedHeaders.insecure" in traefik["globalArguments"]
    assert "--providers.kubernetescrd" in traefik["globalArguments"]
    staging = values(maia_core.mapdata(defaults, site_pillar(cluster={"staging_certificates": True})), "traefik")
    assert staging["certificatesResolvers"]["maiaresolver"]["acme"]["caserver"] == (
        "https://acme-staging-v02.api.letsencrypt.org/directory")


def test_traefik_dashboard_behind_keycloak(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar())
    traefik = values(data, "traefik")
    assert traefik["experimental"]["plugins"]["traefik-oidc-auth"] == {
        "moduleName": "github.com/sevensolutions/traefik-oidc-auth", "version": "v0.17.0"}
    dashboard = traefik["ingressRoute"]["dashboard"]
    assert dashboard["matchRule"] == "Host(`traefik.maia.example.com`)"
    assert dashboard["middlewares"] == [{"name": "oidc"}, {"name": "traefik-dashboard-replace-path"}]
    assert dashboard["tls"] == {"certResolver": "maiaresolver"}
    oidc = extra_object(traefik, "Middleware", "oidc")["spec"]["plugin"]["traefik-oidc-auth"]
    assert oidc["Provider"]["Url"] == "https://iam.maia.example.com/realms/maia"
    assert oidc["Provider"]["ClientSecret"] == "urn:k8s:secret:oidc-secret:providerClientSecret"
    assert oidc["Authorization"]["AssertClaims"] == [{"Name": "groups", "AnyOf": ["MAIA:admin"]}]
    secret = extra_object(traefik, "Secret", "oidc-secret")["stringData"]
    assert secret["providerClientSecret"] == SECRETS["keycloak_client_secret"]
    assert len(secret["pluginSecret"]) == 32 and secret["pluginSecret"] != SECRETS["keycloak_client_secret"]
    replace = extra_object(traefik, "Middleware", "traefik-dashboard-replace-path")["spec"]["replacePathRegex"]
    assert replace == {"regex": "^/dashboard/(.*)", "replacement": "/dashboard/$1"}
    basic = extra_object(traefik, "Secret", "traefik-dashboard-auth-secret")
    assert basic["type"] == "kubernetes.io/basic-auth"
    assert basic["stringData"] == {"username": "admin", "password": SECRETS["traefik_dashboard_password"]}
    assert {"password", "pluginSecret", "providerClientSecret"} <= set(apps_by_component(data)["traefik"]["secret_keys"])


def test_derived_secrets_are_stable_across_runs_and_differ_between_sites(maia_core, defaults):
    from core.helpers import load_maia_core

    first = maia_core.mapdata(defaults, site_pillar())
    second = load_maia_core().mapdata(defaults, site_pillar())  # another run: a fresh module
    assert first == second  # re-runs produce identical specs: no change to apply
    other = maia_core.mapdata(defaults, site_pillar(cluster={"domain": "other.example.org"}))
    plugin = lambda d: extra_object(values(d, "traefik"), "Secret", "oidc-secret")["stringData"]["pluginSecret"]  # noqa: E731
    assert plugin(first) != plugin(other)
    assert plugin(first) != values(first, "toolkit")["dashboard"]["plugin_secret"]


def test_nfs_provisioner_points_at_the_nfs_server(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar(nfs_server={"name": "nfs-host", "address": "198.18.0.42"}))
    nfs = values(data, "nfs-provisioner")
    assert nfs["nfs"] == {"server": "198.18.0.42", "path": "/nfs"}
    assert "storageClass" not in nfs  # the chart's default class is nfs-client
    from_cluster = maia_core.mapdata(defaults, site_pillar(cluster={"nfs_server": "10.0.0.5", "nfs_path": "/exports"}))
    assert values(from_cluster, "nfs-provisioner")["nfs"] == {"server": "10.0.0.5", "path": "/exports"}
    other_class = maia_core.mapdata(defaults, site_pillar(cluster={"shared_storage_class": "shared"}))
    assert values(other_class, "nfs-provisioner")["storageClass"] == {"name": "shared"}


def test_nfs_provisioner_without_an_inventory_address_uses_the_grain_address(maia_core, defaults):
    """An inventory without addresses (the Ansible collection's example): the ext_pillar gives the NFS
    server's default IPv4 from its grains as maia:nfs_server:ip, and stage 3 renders with it."""
    pillar = site_pillar(nfs_server={"name": "nfs-host", "address": None, "ip": "198.18.0.42"})
    assert values(maia_core.mapdata(defaults, pillar), "nfs-provisioner")["nfs"] == {"server": "198.18.0.42",
                                                                                      "path": "/nfs"}
    unknown = site_pillar(nfs_server={"name": "nfs-host", "address": None})
    with pytest.raises(maia_core.MaiaCoreConfigError, match="address is missing for nfs-host.*grains"):
        maia_core.mapdata(defaults, unknown)


def test_toolkit_values(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar())
    toolkit = values(data, "toolkit")
    assert toolkit["admin_group_ID"] == "MAIA:admin"
    assert toolkit["default_ingress_class"] == "maia-core-traefik"
    assert toolkit["cert_manager"] == {"enabled": True, "email": "admin@example.com"}
    assert toolkit["metallb"] == {"enabled": True, "addresses": "198.18.0.11-198.18.0.11"}
    assert toolkit["selfsigned"] == {"enabled": False}
    assert toolkit["certResolver"] == "maiaresolver"
    assert toolkit["path"] == "charts/maia-core-toolkit" and toolkit["chart_version"] == "v2.5.0"
    pool = maia_core.mapdata(defaults, site_pillar(cluster={"metallb_ip_pool": "10.0.0.1-10.0.0.9"}))
    assert values(pool, "toolkit")["metallb"]["addresses"] == "10.0.0.1-10.0.0.9"


def _pool_and_controllers(maia_core, defaults, hosts, nfs_server):
    """(the default MetalLB pool, Prometheus' controller-manager and scheduler endpoints) of a site
    with these inventory hosts."""
    pillar = site_pillar()
    pillar["hosts"] = hosts
    pillar["nfs_server"] = {"name": nfs_server, "address": hosts[nfs_server]["address"]}
    data = maia_core.mapdata(defaults, pillar)
    prometheus = values(data, "prometheus")
    return (values(data, "toolkit")["metallb"]["addresses"], prometheus["kubeControllerManager"]["endpoints"],
            prometheus["kubeScheduler"]["endpoints"])


def test_nodes_are_the_control_plane_not_the_nfs_hosts(maia_core, defaults):
    """Hosts that only serve or mount NFS are not Kubernetes nodes: their addresses stay out of
    the default MetalLB pool (MetalLB could hand a host's own address to a LoadBalancer Service)
    and out of Prometheus' controller-manager and scheduler endpoints. A node known by its grains'
    address only (no address in the inventory) still counts."""
    hosts = {
        "maia-a-nfs": {"address": "198.18.0.10", "roles": ["nfs_server"]},
        "maia-b-control": {"address": "198.18.0.20", "roles": ["control-plane"]},
        "maia-c-client": {"address": "198.18.0.30", "roles": ["nfs_clients"]},
        "maia-d-client": {"address": "198.18.0.40", "roles": ["nfs_clients"]},
    }
    assert _pool_and_controllers(maia_core, defaults, hosts, "maia-a-nfs") == (
        "198.18.0.20-198.18.0.20", ["198.18.0.20"], ["198.18.0.20"])
    hosts["maia-b-control"] = {"address": "", "ip": "198.18.0.21", "roles": ["control-plane"]}
    assert _pool_and_controllers(maia_core, defaults, hosts, "maia-a-nfs")[0] == "198.18.0.21-198.18.0.21"


def test_workers_are_nodes_in_the_metallb_pool_not_prometheus_controllers(maia_core, defaults):
    """Hosts of the inventory group ``workers`` (role ``worker``) are Kubernetes nodes: the default
    MetalLB pool (first-last of the node addresses) spans them; Prometheus' controller-manager and
    scheduler endpoints stay the control plane's, the one host that runs those two."""
    hosts = {
        "maia-a-control": {"address": "198.18.0.20", "roles": ["control-plane", "nfs_server"]},
        "maia-b-worker": {"address": "198.18.0.25", "roles": ["worker", "nfs_clients"]},
        "maia-c-worker": {"address": "", "ip": "198.18.0.27", "roles": ["worker"]},
        "maia-d-client": {"address": "198.18.0.40", "roles": ["nfs_clients"]},
    }
    assert _pool_and_controllers(maia_core, defaults, hosts, "maia-a-control") == (
        "198.18.0.20-198.18.0.27", ["198.18.0.20"], ["198.18.0.20"])


def test_gpu_booking_and_loginapp(maia_core, defaults, tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("PEM")
    data = maia_core.mapdata(defaults, site_pillar(cluster={"rootCA": str(ca)}))
    booking = values(data, "gpu-booking")
    assert booking["apiToken"] == SECRETS["dashboard_api_secret"]
    assert booking["apiUrl"] == "https://maia.maia.example.com/maia-api/gpu-schedulability"
    assert booking["image"]["repository"] == "ghcr.io/minnelab/maia-gpu-booking-admission-controller"
    login = values(data, "loginapp")
    config = login["config"]
    assert config["issuerURL"] == "https://iam.maia.example.com/realms/maia"
    assert config["clientSecret"] == SECRETS["keycloak_client_secret"]
    assert config["clusters"][0]["server"] == "https://maia.example.com:16443"
    assert config["clusters"][0]["certificate-authority"] == "PEM"
    assert config["secret"] and config["secret"] != SECRETS["keycloak_client_secret"]
    assert login["ingress"]["tls"] == [{"hosts": ["login.maia.example.com"]}]
    assert login["ingress"]["annotations"]["traefik.ingress.kubernetes.io/router.tls.certresolver"] == "maiaresolver"


def test_gpu_booking_needs_the_dashboard_keys_as_in_the_reference(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar(env={"MAIA_DASHBOARD_DOMAIN": ""}))
    assert "gpu-booking" not in apps_by_component(data)
    assert all(a["component"] != "gpu-booking" for a in data["absent_apps"])


# ---------------------------------------------------------------- distributions


@pytest.mark.parametrize("distribution", ["microk8s", "k3s", "k0s", "rke2"])
def test_distribution(maia_core, defaults, distribution):
    data = maia_core.mapdata(defaults, site_pillar(cluster={"k8s_distribution": distribution}))
    apps = apps_by_component(data)
    if distribution == "rke2":
        assert "ingress-nginx" in apps and "traefik" not in apps
        assert values(data, "toolkit")["default_ingress_class"] == "nginx"
        ingress = values(data, "prometheus")["grafana"]["ingress"]
        assert ingress["annotations"] == {"cert-manager.io/cluster-issuer": "cluster-issuer"}
        assert ingress["tls"] == [{"hosts": ["grafana.maia.example.com"], "secretName": "grafana.maia.example.com"}]
        login_tls = values(data, "loginapp")["ingress"]["tls"]
        assert login_tls == [{"hosts": ["login.maia.example.com"], "secretName": "loginapp.maia.example.com"}]
    else:
        assert "traefik" in apps and "ingress-nginx" not in apps
        assert values(data, "toolkit")["default_ingress_class"] == "maia-core-traefik"
    toolkit = values(data, "gpu-operator")["toolkit"]
    toolkit_env = env_of(toolkit["toolkit"]["env"] if distribution == "k0s" else toolkit["env"])
    config, socket = CONTAINERD[distribution]
    assert toolkit_env["CONTAINERD_CONFIG"] == config
    assert toolkit_env["CONTAINERD_SOCKET"] == socket
    assert toolkit_env["CONTAINERD_RUNTIME_CLASS"] == "nvidia"
    local_path = values(data, "local-path")
    if distribution == "microk8s":
        assert local_path["enabled"] is False and "storage_class" not in local_path
    else:
        assert local_path["enabled"] is True and local_path["storage_class"] == "local-path"
    port = 16443 if distribution == "microk8s" else 6443
    assert values(data, "loginapp")["config"]["clusters"][0]["server"] == f"https://maia.example.com:{port}"


def test_ingress_class_of_the_cluster_yaml_wins(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar(cluster={"k8s_distribution": "k3s", "ingress_class": "nginx"}))
    apps = apps_by_component(data)
    assert "ingress-nginx" in apps and "traefik" not in apps


# ---------------------------------------------------------------- chart sources


def test_private_registry_serves_maia_charts_as_oci_with_the_reference_secret(maia_core, defaults):
    pillar = site_pillar(
        env={"MAIA_PRIVATE_REGISTRY": "oci://registry.maia.example.com/maia"},
        registry={"url": "registry.maia.example.com", "username": "robot", "password": SECRETS["registry_password"]},
    )
    data = maia_core.mapdata(defaults, pillar)
    for component, app in apps_by_component(data).items():
        source = app["spec"]["source"]
        if component in OCI_VERSIONS:
            assert source["repoURL"] == "registry.maia.example.com/maia"
            assert source["chart"] == CATALOGUE[component][0].split("/")[-1] and "path" not in source
            assert source["targetRevision"] == OCI_VERSIONS[component]
        else:  # the reference pulls only MAIA's own charts from the registry
            assert source["repoURL"] == CATALOGUE[component][1]
    assert "registry.maia.example.com/maia" in data["project"]["spec"]["sourceRepos"]
    assert data["repositories"] == [
        {
            "name": "maia-private-registry-maia-core",
            "url": "registry.maia.example.com/maia",
            "username": "robot",
            "password": SECRETS["registry_password"],
            "project": "maia-core",
            "repo_type": "helm",
            "enable_oci": True,
        }
    ]


def test_public_site_has_no_repository_secret(maia_core, defaults):
    assert maia_core.mapdata(defaults, site_pillar())["repositories"] == []


def test_app_not_mirrored_keeps_its_source(maia_core, defaults):
    pillar = site_pillar(
        env={"MAIA_PRIVATE_REGISTRY": "registry.maia.example.com/maia"},
        registry={"username": "robot", "password": "x"},
        core={"apps": {"toolkit": {"mirrored": False}, "traefik": {"mirrored": True}}},
    )
    apps = apps_by_component(maia_core.mapdata(defaults, pillar))
    assert apps["toolkit"]["spec"]["source"]["repoURL"] == MAIA_GIT
    assert apps["traefik"]["spec"]["source"]["repoURL"] == "registry.maia.example.com/maia"


def test_maia_charts_from_the_helm_repository(maia_core, defaults):
    core = {"apps": {"toolkit": {"source": "helm"}, "gpu-booking": {"source": "helm"}}}
    apps = apps_by_component(maia_core.mapdata(defaults, site_pillar(core=core)))
    toolkit = apps["toolkit"]["spec"]["source"]
    assert (toolkit["repoURL"], toolkit["chart"], toolkit["targetRevision"]) == (
        "https://minnelab.github.io/MAIA/", "maia-core-toolkit", "0.2.2")
    assert toolkit["helm"]["valuesObject"]["chart_name"] == "maia-core-toolkit"
    assert apps["gpu-booking"]["spec"]["source"]["chart"] == "gpu-booking"


def test_helm_source_without_a_published_version_is_refused(maia_core, defaults):
    core = {"apps": {"kubeflow": {"source": "helm"}}}
    with pytest.raises(maia_core.MaiaCoreConfigError, match="maia:core:apps:kubeflow:helm:version is empty"):
        maia_core.mapdata(defaults, site_pillar(core=core))


def test_git_revision_can_be_a_commit(maia_core, defaults):
    commit = "37187e6ced7228e2bcd8ec39da58b90b303b0ff0"
    core = {"apps": {"toolkit": {"git": {"revision": commit}}}}
    source = apps_by_component(maia_core.mapdata(defaults, site_pillar(core=core)))["toolkit"]["spec"]["source"]
    assert source["path"] == "charts/maia-core-toolkit" and "chart" not in source
    assert source["targetRevision"] == commit


# ---------------------------------------------------------------- pillar overrides and switches


def test_version_override_changes_only_that_app(maia_core, defaults):
    before = apps_by_component(maia_core.mapdata(defaults, site_pillar()))
    after = apps_by_component(
        maia_core.mapdata(defaults, site_pillar(core={"apps": {"traefik": {"version": "34.0.0"}}}))
    )
    assert after["traefik"]["spec"]["source"]["targetRevision"] == "34.0.0"
    changed = [c for c in before if before[c] != after[c]]
    assert changed == ["traefik"]


def test_repo_chart_namespace_and_values_overrides(maia_core, defaults):
    core = {
        "apps": {
            "metrics-server": {
                "repo": "https://mirror.example.com/charts",
                "chart": "metrics-server-fork",
                "values": {"args": ["--kubelet-insecure-tls"]},
            },
            "prometheus": {"values": {"grafana": {"persistence": {"enabled": False}, "adminUser": "root"}}},
        }
    }
    data = maia_core.mapdata(defaults, site_pillar(core=core))
    metrics = apps_by_component(data)["metrics-server"]["spec"]["source"]
    assert metrics["repoURL"] == "https://mirror.example.com/charts"
    assert metrics["chart"] == "metrics-server-fork"
    assert metrics["helm"]["valuesObject"]["args"] == ["--kubelet-insecure-tls"]
    assert metrics["helm"]["valuesObject"]["chart_name"] == "metrics-server-fork"
    grafana = values(data, "prometheus")["grafana"]
    assert grafana["persistence"] == {"enabled": False} and grafana["adminUser"] == "root"
    # derived values survive a partial override (deep merge)
    assert grafana["grafana.ini"]["auth.generic_oauth"]["client_id"] == "maia"
    assert "https://mirror.example.com/charts" in data["project"]["spec"]["sourceRepos"]


def test_app_switched_off(maia_core, defaults):
    core = {"apps": {"kubeflow": {"enabled": False}, "gpu-booking": {"enabled": False}}}
    data = maia_core.mapdata(defaults, site_pillar(core=core, env={"dashboard_api_secret": ""}))
    apps = apps_by_component(data)
    assert "kubeflow" not in apps and "gpu-booking" not in apps
    assert {"component": "kubeflow", "name": "maia-core-kubeflow"} in data["absent_apps"]
    # not removed merely because another ingress controller needs it
    assert all(a["component"] != "ingress-nginx" for a in data["absent_apps"])


def test_dra_driver_is_opt_in(maia_core, defaults):
    assert "nvidia-dra-driver-gpu" not in apps_by_component(maia_core.mapdata(defaults, site_pillar()))
    core = {"apps": {"nvidia-dra-driver-gpu": {"enabled": True}}}
    apps = apps_by_component(maia_core.mapdata(defaults, site_pillar(core=core)))
    assert apps["nvidia-dra-driver-gpu"]["name"] == "maia-core-nvidia-dra-driver-gpu"


def test_remove_disabled_false_keeps_applications(maia_core, defaults):
    core = {"remove_disabled": False, "apps": {"kubeflow": {"enabled": False}}}
    assert maia_core.mapdata(defaults, site_pillar(core=core))["absent_apps"] == []


def test_sync_settings(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar())
    assert data["auto_sync"] is True
    assert data["sync"] == {"timeout": 600, "interval": 5, "retries": 3, "retry_interval": 10,
                            "force": False, "prune": False, "address_pending": True}
    data = maia_core.mapdata(defaults, site_pillar(core={"auto_sync": False, "sync": {
        "timeout": 60, "prune": True, "address_pending": "false"}}))
    assert data["auto_sync"] is False and data["sync"]["timeout"] == 60 and data["sync"]["prune"] is True
    assert data["sync"]["address_pending"] is False


def test_prometheus_uses_server_side_apply(maia_core, defaults):
    spec = apps_by_component(maia_core.mapdata(defaults, site_pillar()))["prometheus"]["spec"]
    assert "ServerSideApply=true" in spec["syncPolicy"]["syncOptions"]


# ---------------------------------------------------------------- selfsigned and restarts


def test_selfsigned(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar(cluster={"selfsigned": True}))
    traefik = values(data, "traefik")
    assert "certificatesResolvers" not in traefik
    assert "tls" not in traefik["ingressRoute"]["dashboard"]
    toolkit = values(data, "toolkit")
    assert toolkit["selfsigned"] == {"enabled": True, "cluster_domain": "maia.example.com", "coredns_ip": "198.18.0.11"}
    annotations = values(data, "prometheus")["grafana"]["ingress"]["annotations"]
    assert "traefik.ingress.kubernetes.io/router.tls.certresolver" not in annotations
    assert values(data, "kubeflow")["kubeflow_values"]["sslInsecureSkipVerify"] is True
    restarts = {r["id"]: r for r in data["restarts"]}
    assert set(restarts) == {"traefik", "coredns"}
    assert (restarts["traefik"]["kind"], restarts["traefik"]["name"], restarts["traefik"]["namespace"]) == (
        "Deployment", "maia-core-traefik", "traefik")
    assert (restarts["coredns"]["name"], restarts["coredns"]["namespace"]) == ("coredns", "kube-system")


def test_no_restarts_by_default(maia_core, defaults):
    assert maia_core.mapdata(defaults, site_pillar())["restarts"] == []


def test_coredns_mappings_restart_only_coredns_and_trigger_follows_mappings(maia_core, defaults):
    one = maia_core.mapdata(defaults, site_pillar(cluster={"coredns_mappings": {"a.example.com": "198.18.0.5"}}))
    assert [r["id"] for r in one["restarts"]] == ["coredns"]
    assert values(one, "toolkit")["coredns_mappings"] == {"a.example.com": "198.18.0.5"}
    same = maia_core.mapdata(defaults, site_pillar(cluster={"coredns_mappings": {"a.example.com": "198.18.0.5"}}))
    other = maia_core.mapdata(defaults, site_pillar(cluster={"coredns_mappings": {"a.example.com": "198.18.0.6"}}))
    assert one["restarts"][0]["trigger"] == same["restarts"][0]["trigger"]
    assert one["restarts"][0]["trigger"] != other["restarts"][0]["trigger"]


def test_selfsigned_on_rke2_restarts_only_coredns(maia_core, defaults):
    data = maia_core.mapdata(defaults, site_pillar(cluster={"selfsigned": True, "k8s_distribution": "rke2"}))
    assert [r["id"] for r in data["restarts"]] == ["coredns"]
    annotations = values(data, "prometheus")["grafana"]["ingress"]["annotations"]
    assert annotations == {"cert-manager.io/cluster-issuer": "kubernetes-ca-issuer"}


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"cluster": {"domain": ""}}, "maia:cluster:domain"),
        ({"cluster": {"k8s_distribution": "openshift"}}, "maia:cluster:k8s_distribution"),
        ({"cluster": {"traefik_dashboard_password": ""}}, "maia:cluster:traefik_dashboard_password"),
        ({"cluster": {"ingress_resolver_email": "not-an-email"}}, "ingress_resolver_email"),
        ({"cluster": {"ingress_resolver_email": ""}}, "maia:cluster:ingress_resolver_email is missing"),
        ({"env": {"keycloak_client_secret": ""}}, "maia:env:keycloak_client_secret"),
        ({"nfs_server": {"address": ""}}, "maia:nfs_server:address"),
        ({"env": {"MAIA_PRIVATE_REGISTRY": "registry.example.com"}}, "maia:registry:username/password"),
        ({"core": {"apps": {"traefik": {"version": ""}}}}, "maia:core:apps:traefik:version"),
        ({"core": {"apps": {"toolkit": {"source": "svn"}}}}, "maia:core:apps:toolkit:source"),
    ],
)
def test_bad_input_names_the_key(maia_core, defaults, overrides, message):
    with pytest.raises(maia_core.MaiaCoreConfigError) as err:
        maia_core.mapdata(defaults, site_pillar(**overrides))
    assert message in str(err.value)
    for secret in SECRETS.values():
        assert secret not in str(err.value)


def test_switching_off_an_app_lifts_its_requirement(maia_core, defaults):
    pillar = site_pillar(nfs_server={"address": ""}, core={"apps": {"nfs-provisioner": {"enabled": False}}})
    data = maia_core.mapdata(defaults, pillar)
    assert "nfs-provisioner" not in apps_by_component(data)
    pillar = site_pillar(cluster={"traefik_dashboard_password": "", "k8s_distribution": "rke2"})
    assert "ingress-nginx" in apps_by_component(maia_core.mapdata(defaults, pillar))


def test_registry_password_only_in_the_repository_secret(maia_core, defaults):
    """The registry password goes to the ArgoCD repository secret only."""
    pillar = site_pillar(
        env={"MAIA_PRIVATE_REGISTRY": "registry.example.com/maia"},
        registry={"username": "robot", "password": SECRETS["registry_password"]},
    )
    data = maia_core.mapdata(defaults, pillar)
    assert SECRETS["registry_password"] not in json.dumps(data["apps"])
    assert SECRETS["registry_password"] not in json.dumps(data["project"])


# ---------------------------------------------------------------- cluster-side helpers (fake Kubernetes library)


class FakeKube:
    """Records the host library's Kubernetes calls (``maia_kube_read.get``, ``maia_kube_write.apply``
    and ``patch``, each given the module's Connection); holds objects by (kind, namespace, name)."""

    def __init__(self, objects=None):
        self.objects = objects or {}
        self.calls = []

    def get(self, conn, api_version, kind, name, namespace=None, remember=False):
        self.calls.append(("get", kind, name, namespace, conn.kubeconfig))
        return self.objects.get((kind, namespace, name))

    def apply(self, conn, manifest, namespace=None, **_kw):
        self.calls.append(("apply", manifest["kind"], manifest["metadata"]["name"], None, conn.kubeconfig))
        self.objects[(manifest["kind"], None, manifest["metadata"]["name"])] = manifest
        return manifest

    def patch(self, conn, api_version, kind, name, patch, namespace=None, **_kw):
        self.calls.append(("patch", kind, name, namespace, conn.kubeconfig))
        obj = self.objects[(kind, namespace, name)]
        obj.setdefault("metadata", {}).setdefault("annotations", {}).update(patch["metadata"]["annotations"])
        template = obj.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
        template.setdefault("annotations", {}).update(patch["spec"]["template"]["metadata"]["annotations"])
        return obj


def kube_module(fake):
    """maia_core with its Kubernetes library calls answered by ``fake``."""
    import types

    from core.helpers import load_maia_core

    module = load_maia_core(
        {"pillar.get": lambda key, default=None, unmask=False: "/etc/maia/kubeconfig" if key == "maia:kubeconfig" else default}
    )
    module.__context__ = {}
    module.kread = types.SimpleNamespace(get=fake.get)
    module.kwrite = types.SimpleNamespace(apply=fake.apply, patch=fake.patch)
    return module


def test_restart_happens_once_per_trigger():
    fake = FakeKube({("Deployment", "kube-system", "coredns"): {"metadata": {"name": "coredns"}}})
    mod = kube_module(fake)
    assert mod.restart_pending("Deployment", "coredns", "kube-system", "t1") is True
    mod.rollout_restart("Deployment", "coredns", "kube-system", "t1")
    deployment = fake.objects[("Deployment", "kube-system", "coredns")]
    assert deployment["metadata"]["annotations"]["maia-salt/restart-trigger"] == "t1"
    assert "kubectl.kubernetes.io/restartedAt" in deployment["spec"]["template"]["metadata"]["annotations"]
    assert mod.restart_pending("Deployment", "coredns", "kube-system", "t1") is False
    assert mod.restart_pending("Deployment", "coredns", "kube-system", "t2") is True
    assert all(call[4] == "/etc/maia/kubeconfig" for call in fake.calls)


def test_no_restart_for_a_missing_deployment():
    mod = kube_module(FakeKube())
    assert mod.restart_pending("Deployment", "maia-core-traefik", "traefik", "t1") is False


def test_restart_predicted_under_test_when_the_cluster_cannot_answer():
    from salt.exceptions import CommandExecutionError

    def unreachable(*_a, **_kw):
        raise CommandExecutionError("cannot reach the Kubernetes API")

    mod = kube_module(FakeKube())
    mod.kread.get = unreachable
    mod.__opts__["test"] = True
    assert mod.restart_pending("Deployment", "coredns", "kube-system", "t1") is True
    mod.__opts__["test"] = False
    with pytest.raises(CommandExecutionError):
        mod.restart_pending("Deployment", "coredns", "kube-system", "t1")


def test_salt_ssh_wrapper_builds_the_same_specs_on_the_master(defaults):
    """_wrapper/maia_core.py (salt-ssh renders SLS on the master) has the module's functions,
    from the same definition (maia_salt.stage_api), and builds the same specs with the
    master's pillar."""
    import importlib.util

    from pathlib import Path

    from core.helpers import REPO, load_maia_core

    spec = importlib.util.spec_from_file_location("maia_core_wrapper", REPO / "_wrapper" / "maia_core.py")
    wrapper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wrapper)
    pillar = site_pillar(cluster={"k8s_distribution": "k3s"})
    wrapper.__opts__ = {"test": False}
    wrapper.__pillar__ = {"maia": pillar}
    wrapper.__salt__ = {}
    module = load_maia_core()
    defined_in = REPO / "src" / "maia_salt" / "stage_api.py"
    for name in API:
        assert vars(wrapper)[name].__module__ == "maia_core_wrapper"  # Salt's loader packs only own functions
        # one definition for both adapters, not a copy (the module's is reached through _utils)
        for function in (vars(wrapper)[name], vars(module)[name] if name != "mapdata" else module.applications):
            assert Path(function.__code__.co_filename).resolve() == defined_in, (name, function.__code__.co_filename)
    assert wrapper.mapdata(defaults) == load_maia_core().mapdata(defaults, pillar)
    assert [a["component"] for a in wrapper.applications(defaults)][0] == "cert-manager"


API = {"mapdata", "applications", "application", "project", "namespaces"}


LOADER_SCRIPT = r"""
import json, sys, tempfile
extmods, data = sys.argv[1], json.load(sys.stdin)
# a host without the maia-salt package: hide it (the editable install's finder and src/)
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__ + repr(f)]
sys.path[:] = [p for p in sys.path if not p.endswith("/src")]
try:
    import maia_salt
    raise SystemExit("maia_salt is still importable: the test cannot hide it")
except ImportError:
    pass
import salt.config, salt.loader
d = tempfile.mkdtemp()
opts = salt.config.minion_config(None)
opts.update({"root_dir": d, "cachedir": d + "/cache", "extension_modules": extmods,
             "file_client": "local", "pillar": {"maia": data["pillar"]}})
utils = salt.loader.utils(opts)
mods = salt.loader.minion_mods(opts, utils=utils)
out = {"data": mods["maia_core.mapdata"](data["parameters"]),
       "library": mods["maia_core.restart_pending"].__globals__["_core_library"].__name__,
       "imported": sorted(m for m in sys.modules if m.startswith(("maia_salt", "maia_layers")))}
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_a_host_without_the_package_uses_the_library_synced_from_file_roots(tmp_path, defaults):
    """A host with Salt but without maia-salt (a site's minion): Salt's real loader, over the
    extension modules a real saltutil.sync_all left (support/extmods.py), loads maia_core with
    the library it synced from _utils/maia_layers, and builds the same specs."""
    import subprocess
    import sys

    from core.helpers import load_maia_core
    from support.extmods import synced_extension_modules

    extmods = synced_extension_modules(tmp_path)
    proc = subprocess.run([sys.executable, "-c", LOADER_SCRIPT, extmods],
                          input=json.dumps({"parameters": defaults, "pillar": site_pillar()}),
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["library"] == "maia_layers.core"
    assert not [m for m in out["imported"] if m.startswith("maia_salt")]  # no second way
    assert out["data"] == json.loads(json.dumps(load_maia_core().mapdata(defaults, site_pillar())))


def test_the_served_libraries_import_each_other_relatively_only():
    """_utils/maia_layers serves src/maia_salt's stage libraries under another name: an absolute
    ``maia_salt`` import in one of them would reach for the installed package on a host."""
    import os
    import re
    from pathlib import Path

    from core.helpers import REPO

    served = sorted(Path(folder) / name for folder, _dirs, names in os.walk(REPO / "_utils" / "maia_layers", followlinks=True)
                    for name in names if name.endswith(".py"))
    assert any(path.parent.name == "core" for path in served)
    offenders = [str(path) for path in served if re.search(r"^\s*(from|import)\s+maia_salt\b", path.read_text(), re.M)]
    assert offenders == []
