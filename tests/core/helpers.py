"""Helpers of the MAIA core layer tests: a site pillar and the maia_core module
loaded as a plain Python module with the Salt dunders it needs."""
import importlib.util
import sys

import yaml

from maia_salt.merge import deep_merge
from support.paths import REPO

DEFAULTS_FILE = REPO / "formulas" / "maia" / "core" / "parameters" / "defaults.yaml"

SECRETS = {
    "keycloak_client_secret": "kc-Secret-0001",
    "traefik_dashboard_password": "dash-Secret-0002",
    "dashboard_api_secret": "api-Secret-0003",
    "registry_password": "reg-Secret-0004",
}

BASE_PILLAR = {
    "kubeconfig": "/etc/maia/kubeconfig",
    "cluster": {
        "cluster_name": "maia-cluster",
        "domain": "maia.example.com",
        "k8s_distribution": "microk8s",
        "ingress_resolver_email": "admin@example.com",
        "traefik_resolver": "maiaresolver",
        "traefik_dashboard_password": SECRETS["traefik_dashboard_password"],
        "shared_storage_class": "nfs-client",
        "url_type": "subdomain",
    },
    "env": {
        "MAIA_PRIVATE_REGISTRY": "",
        "cluster_name": "maia-cluster",
        "keycloak_client_secret": SECRETS["keycloak_client_secret"],
        "admin_group_ID": "MAIA:admin",
        "argocd_namespace": "argocd",
        "dashboard_api_secret": SECRETS["dashboard_api_secret"],
        "MAIA_DASHBOARD_DOMAIN": "maia.maia.example.com",
    },
    "registry": {"url": "", "username": "", "password": ""},
    "roles": ["control-plane", "nfs_server"],
    "hosts": {
        "maia-node-0": {"address": "198.18.0.11", "roles": ["control-plane", "nfs_server"]},
        "maia-node-1": {"address": "198.18.0.12", "roles": ["nfs_clients"]},
    },
    "nfs_server": {"name": "maia-node-0", "address": "198.18.0.11"},
}


merge = deep_merge


def site_pillar(**overrides):
    """The `maia` pillar tree of a test site, with overrides deep-merged."""
    return merge(BASE_PILLAR, overrides)


def load_maia_core(salt_funcs=None):
    """_modules/maia_core.py as a plain module, its library imported from ``_utils`` (what
    Salt's loader puts on sys.path from a host's synced utils).

    ``mapdata(defaults, pillar)`` takes the tests' site pillar with its ``core`` overrides:
    it merges them over ``defaults`` first, as ``maia/core/map.jinja``'s map stack does in a
    real run (the module itself merges nothing), then calls the module's ``mapdata``."""
    utils = str(REPO / "_utils")
    sys.path.insert(0, utils)
    try:
        spec = importlib.util.spec_from_file_location("maia_core_under_test", REPO / "_modules" / "maia_core.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(utils)
    module.__salt__ = dict(salt_funcs or {})
    module.__opts__ = {"test": False, "saltenv": "base"}
    stage_mapdata = module.mapdata
    module.mapdata = lambda defaults, pillar: stage_mapdata(merge(defaults, pillar.get("core") or {}), pillar)
    return module


