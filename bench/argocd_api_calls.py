#!/usr/bin/env python3
"""Kubernetes API requests per ArgoCD Application on a no-op re-run (target: at most 2).

STAND-INS (see docs/standins.md): ``maia_salt.standins.kube_api`` for the
kube-apiserver and ``maia_salt.standins.argocd_controller`` for the ArgoCD
application controller; requests are counted from the API stand-in's request
log, leaving out the controller stand-in's own (its user agent).

What it does, with real ``salt-call --local`` (maia-salt's modules loaded
through the salt.loader entry point):

1. an AppProject plus N Applications (``argocd.app_present`` then
   ``argocd.app_synced`` each, as ``formulas/maia/core`` does), first run:
   everything created, synced, waited Healthy;
2. the same state again (the no-op run): its changes, wall time, and the
   API requests Salt made, per Application and in all.

Usage::

    .venv/bin/python bench/argocd_api_calls.py [--apps 18] [--json] [--out FILE]

Exit status 1 when the no-op run reports a change or makes more than 2
requests for any Application.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
SALT_CALL = str(Path(sys.executable).with_name("salt-call"))
CONTROLLER_UA = "maia-salt-standin/argocd-controller"
APP_PATH = re.compile(r"^/apis/argoproj\.io/v1alpha1/namespaces/[^/]+/applications/([^/]+)$")
BUDGET_PER_APP = 2


def _states(n_apps):
    states = {"bench-project-present": {"argocd.project_present": [
        {"name": "maia-bench"},
        {"spec": {"sourceRepos": ["*"],
                  "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "*"}]}}]}}
    for i in range(n_apps):
        name = f"maia-bench-app-{i:02d}"
        spec = {
            "project": "maia-bench",
            "source": {"repoURL": "https://charts.example.org", "chart": f"chart-{i}",
                       "targetRevision": f"1.{i}.0",
                       "helm": {"releaseName": name,
                                "valuesObject": {"replicas": 1, "adminPassword": f"bench-secret-{i}",
                                                 "ingress": {"enabled": True, "host": f"app{i}.example.org"}}}},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": f"bench-{i}"},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        }
        states[f"{name}-present"] = {"argocd.app_present": [{"name": name}, {"spec": spec}, {"sync_wave": i % 3}]}
        states[f"{name}-synced"] = {"argocd.app_synced": [
            {"name": name}, {"timeout": 120}, {"interval": 0.2}, {"retries": 0},
            {"require": [{"argocd": f"{name}-present"}]}]}
    return states


def _salt_apply(conf_dir):
    started = time.monotonic()
    proc = subprocess.run([SALT_CALL, "--local", "-c", str(conf_dir), "--out=json", "state.apply", "bench"],
                          capture_output=True, text=True, timeout=1800)
    elapsed = time.monotonic() - started
    if not proc.stdout.strip():
        raise SystemExit(f"salt-call failed: {proc.stderr[-3000:]}")
    rets = json.loads(proc.stdout)["local"]
    return elapsed, rets


def run(n_apps=18):
    from kubernetes import config, dynamic

    from maia_salt.standins.argocd_controller import ArgoCDControllerStandin
    from maia_salt.standins.kube_api import KubeApiStandin

    from maia_salt.standins import argocd_manifest  # the generated stand-in manifest's CRDs

    crds = [d for d in argocd_manifest.documents() if d["kind"] == "CustomResourceDefinition"
            and d["metadata"]["name"] in ("applications.argoproj.io", "appprojects.argoproj.io")]
    with tempfile.TemporaryDirectory(prefix="maia-bench-argocd-") as tmp, KubeApiStandin() as api:
        dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=api.kubeconfig))
        for doc in crds:
            dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").create(body=doc)
        dyn.resources.get(api_version="v1", kind="Namespace").create(
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
        root = Path(tmp)
        (root / "states").mkdir()
        (root / "conf").mkdir()
        (root / "states" / "bench.sls").write_text(json.dumps(_states(n_apps)))
        (root / "conf" / "minion").write_text(yaml.safe_dump({
            "id": "maia-bench", "file_client": "local", "root_dir": str(root / "root"),
            "file_roots": {"base": [str(root / "states")]}, "maia": {"kubeconfig": api.kubeconfig}}))
        with ArgoCDControllerStandin(api.kubeconfig, interval=0.1, sync_seconds=0.2, progress_seconds=0.2):
            first_time, first = _salt_apply(root / "conf")
            failed = {r["__id__"]: r["comment"] for r in first.values() if r["result"] is not True}
            if failed:
                raise SystemExit(f"first run failed: {json.dumps(failed, indent=1)}")
            api.reset_requests()
            second_time, second = _salt_apply(root / "conf")
        requests = [r for r in api.request_log_copy() if not (r["user_agent"] or "").startswith(CONTROLLER_UA)]
        per_app = collections.Counter()
        for r in requests:
            match = APP_PATH.match(r["path"])
            if match:
                per_app[match.group(1)] += 1
        changed = sorted(r["__id__"] for r in second.values() if r["changes"])
        return {
            "benchmark": "argocd_api_calls",
            "stand_ins": ["maia_salt.standins.kube_api", "maia_salt.standins.argocd_controller"],
            "applications": n_apps,
            "first_run_seconds": round(first_time, 2),
            "noop_run_seconds": round(second_time, 2),
            "noop_changes": changed,
            "noop_requests_total": len(requests),
            "noop_requests_per_app_max": max(per_app.values()) if per_app else 0,
            "noop_requests_per_app_mean": round(sum(per_app.values()) / n_apps, 2),
            "noop_requests_by_method": dict(collections.Counter(r["method"] for r in requests)),
            "noop_requests_other": sorted({f"{r['method']} {r['path']}" for r in requests
                                           if not APP_PATH.match(r["path"])}),
            "budget_per_app": BUDGET_PER_APP,
            "ok": not changed and max(per_app.values() or [0]) <= BUDGET_PER_APP,
        }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=18, help="number of Applications (the core catalogue has 18)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    parser.add_argument("--out", help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    result = run(args.apps)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    if args.json:
        print(text)
    else:
        print(f"{result['applications']} Applications; first run {result['first_run_seconds']} s, "
              f"no-op run {result['noop_run_seconds']} s")
        print(f"no-op run: {len(result['noop_changes'])} changes, {result['noop_requests_total']} API requests, "
              f"per Application max {result['noop_requests_per_app_max']} "
              f"(mean {result['noop_requests_per_app_mean']}, budget {BUDGET_PER_APP})")
        print(f"other requests: {result['noop_requests_other']}")
        print("OK" if result["ok"] else "FAILED")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
