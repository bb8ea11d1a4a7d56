"""What the API stand-in serves: the built-in kinds, the resource types, Status errors.

Shared by every other module of the package; it imports none of them.
"""
from __future__ import annotations

import datetime
import re

BUILTIN_KINDS = [
    ("", "v1", "Namespace", "namespaces", False, True, ["ns"]),
    ("", "v1", "Node", "nodes", False, True, ["no"]),
    ("", "v1", "PersistentVolume", "persistentvolumes", False, True, ["pv"]),
    ("", "v1", "Secret", "secrets", True, False, []),
    ("", "v1", "ConfigMap", "configmaps", True, False, ["cm"]),
    ("", "v1", "ServiceAccount", "serviceaccounts", True, False, ["sa"]),
    ("", "v1", "Service", "services", True, True, ["svc"]),
    ("", "v1", "Pod", "pods", True, True, ["po"]),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, True, ["pvc"]),
    ("", "v1", "Endpoints", "endpoints", True, False, ["ep"]),
    ("", "v1", "Event", "events", True, False, ["ev"]),
    ("", "v1", "LimitRange", "limitranges", True, False, ["limits"]),
    ("", "v1", "ResourceQuota", "resourcequotas", True, True, ["quota"]),
    ("", "v1", "ReplicationController", "replicationcontrollers", True, True, ["rc"]),
    ("apps", "v1", "Deployment", "deployments", True, True, ["deploy"]),
    ("apps", "v1", "StatefulSet", "statefulsets", True, True, ["sts"]),
    ("apps", "v1", "DaemonSet", "daemonsets", True, True, ["ds"]),
    ("apps", "v1", "ReplicaSet", "replicasets", True, True, ["rs"]),
    ("apps", "v1", "ControllerRevision", "controllerrevisions", True, False, []),
    ("batch", "v1", "Job", "jobs", True, True, []),
    ("batch", "v1", "CronJob", "cronjobs", True, True, ["cj"]),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, True, ["hpa"]),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, True, ["pdb"]),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", True, False, []),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, False, []),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, False, []),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, False, []),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, False, ["netpol"]),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", True, True, ["ing"]),
    ("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False, False, []),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, False, ["sc"]),
    ("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False, False, []),
    ("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, False, ["pc"]),
    ("coordination.k8s.io", "v1", "Lease", "leases", True, False, []),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, True, ["crd", "crds"]),
    ("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, True, []),
    ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", False, False, []),
    ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", False, False, []),
]
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]
CRD_GROUP = "apiextensions.k8s.io"
SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                   "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")
IDENTITY_PATHS = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ANNOTATIONS_LIMIT = 262_144  # bytes, metadata.annotations keys + values
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
VERSION_INFO = {"major": "1", "minor": "34", "gitVersion": "v1.34.0-maia-standin",
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc",
                "platform": "linux/amd64"}


def clone(value):
    """Deep copy of JSON data (much faster than copy.deepcopy on big CRDs)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    if isinstance(value, set):
        return set(value)
    return value


def same_content(a, b):
    """Equal apart from server-owned metadata (no copies: objects can be big CRDs)."""
    for key in set(a) | set(b):
        if key == "metadata":
            ma, mb = a.get(key) or {}, b.get(key) or {}
            if any(ma.get(k) != mb.get(k) for k in (set(ma) | set(mb)) - set(SERVER_METADATA)):
                return False
        elif a.get(key) != b.get(key):
            return False
    return True


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """An error answered as a Kubernetes ``Status`` body."""

    REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               405: "MethodNotAllowed", 409: "Conflict", 415: "UnsupportedMediaType",
               422: "Invalid"}

    def __init__(self, code, message, reason=None, details=None):
        super().__init__(message)
        self.code, self.message = code, message
        self.reason = reason or self.REASONS.get(code, "InternalError")
        self.details = details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


class ResourceType:
    """One served resource: a row of BUILTIN_KINDS or a CRD."""

    def __init__(self, group, versions, kind, plural, namespaced, status_sub, short_names=(),
                 singular=None, builtin=True):
        self.group, self.versions, self.kind, self.plural = group, list(versions), kind, plural
        self.namespaced, self.status_sub, self.short_names = namespaced, status_sub, list(short_names)
        self.singular = singular or kind.lower()
        self.builtin = builtin

    def api_version(self, version):
        return f"{self.group}/{version}" if self.group else version

    def details(self, name):
        return {"name": name, "group": self.group, "kind": self.plural}

    def discovery(self, version):
        out = [{"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                "kind": self.kind, "verbs": VERBS, "shortNames": self.short_names}]
        if not self.short_names:
            del out[0]["shortNames"]
        if self.status_sub:
            out.append({"name": f"{self.plural}/status", "singularName": "", "namespaced": self.namespaced,
                        "kind": self.kind, "verbs": ["get", "patch", "update"]})
        return out

