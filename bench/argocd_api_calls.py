#!/usr/bin/env python3
"""Kubernetes API requests and sync time of the ArgoCD part of stages 2 and 3, in isolation.

STAND-INS (see docs/standins.md): ``maia_lab.standins.kube_api`` for the
kube-apiserver and ``maia_lab.standins.argocd_controller`` for the ArgoCD
application controller, with the lab's controller timings (a sync takes 1 s,
health Progressing 2 s more, polled every 0.5 s); requests are counted from the
API stand-in's request log, leaving out the controller stand-in's own (its user
agent).

What it does, with real ``salt-call --local`` (maia-salt's modules synced from
``formulas/`` by ``saltutil.sync_all`` first, untimed, as on a host), in one state
run as stages 2 and 3 do:

1. the ``argocd`` Namespace and the pinned ArgoCD install manifest
   (``maia_k8s.object_present``, ``maia_k8s.manifest_applied``: 59 objects),
   one Namespace per Application (one ``maia_k8s.objects_present``), an AppProject, and N Applications in the sync
   waves of the core catalogue (``formulas/maia/core/parameters/defaults.yaml``),
   each ``maia_argocd.app_present``, then one ``maia_argocd.apps_synced`` per wave, as
   ``formulas/maia/core`` does (poll interval 5 s, the default): first run,
   everything created, synced, waited Healthy;
2. the same state again (the no-op run): its changes, wall time, and the
   API requests Salt made, per Application and in all.

Targets (issue 15): on the no-op run no write request at all and at most one
read per managed object (one list per kind counts as one read of each object it
returns); the first run's sync states (every wave synced and waited Healthy)
within 20 s; and at most 2 requests per Application (issue 8).

Usage::

    .venv/bin/python bench/argocd_api_calls.py [--apps 18] [--json] [--out FILE]

Exit status 1 when a target is not met or the no-op run reports a change.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
CORE_DEFAULTS = REPO / "formulas" / "maia" / "core" / "parameters" / "defaults.yaml"
SALT_CALL = str(Path(sys.executable).with_name("salt-call"))
CONTROLLER_UA = "maia-salt-standin/argocd-controller"
APP_PATH = re.compile(r"^/apis/argoproj\.io/v1alpha1/namespaces/[^/]+/applications/([^/]+)$")
BUDGET_PER_APP = 2
SYNC_TARGET_SECONDS = 20.0
# the lab's ArgoCD controller stand-in (maia_lab.standins.argocd_controller defaults)
LAB_CONTROLLER = {"interval": 0.5, "sync_seconds": 1.0, "progress_seconds": 2.0}


def catalogue_waves(n_apps):
    """Sync waves of the core catalogue's apps, in catalogue order, cycled to ``n_apps``."""
    apps = (yaml.safe_load(CORE_DEFAULTS.read_text()).get("apps") or {}).values()
    waves = [int(a.get("sync_wave", 0)) for a in apps if isinstance(a, dict)] or [0]
    return sorted(waves[i % len(waves)] for i in range(n_apps))


def _states(n_apps, manifest, manifest_sha256):
    waves = catalogue_waves(n_apps)
    names = [f"maia-bench-app-{i:02d}" for i in range(n_apps)]
    members = collections.defaultdict(list)
    for name, wave in zip(names, waves):
        members[wave].append(name)
    states = {
        "bench-argocd-namespace": {"maia_k8s.object_present": [
            {"manifest": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}}]},
        "bench-argocd-installed": {"maia_k8s.manifest_applied": [
            {"name": str(manifest)}, {"sha256": manifest_sha256}, {"namespace": "argocd"},
            {"require": [{"maia_k8s": "bench-argocd-namespace"}]}]},
        "bench-project-present": {"maia_argocd.project_present": [
            {"name": "maia-bench"},
            {"spec": {"sourceRepos": ["*"],
                      "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "*"}]}},
            {"require": [{"maia_k8s": "bench-argocd-installed"}]}]},
    }
    # as formulas/maia/core/namespaces.sls: every app's namespace in one state (one list of Namespaces)
    states["bench-namespaces"] = {"maia_k8s.objects_present": [{"manifests": [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": f"bench-{i}", "labels": {"app.kubernetes.io/managed-by": "maia-salt"}}}
        for i in range(n_apps)]}]}
    specs = {}
    for i, name in enumerate(names):
        spec = specs[name] = {
            "project": "maia-bench",
            "source": {"repoURL": "https://charts.example.org", "chart": f"chart-{i}",
                       "targetRevision": f"1.{i}.0",
                       "helm": {"releaseName": name,
                                "valuesObject": {"replicas": 1, "adminPassword": f"bench-secret-{i}",
                                                 "ingress": {"enabled": True, "host": f"app{i}.example.org"}}}},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": f"bench-{i}"},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        }
        states[f"{name}-present"] = {"maia_argocd.app_present": [
            {"name": name}, {"spec": spec}, {"sync_wave": waves[i]},
            {"require": [{"maia_argocd": "bench-project-present"}]}]}
    # as formulas/maia/core/sync.sls: one state per sync wave, given its apps' names and specs
    for wave in sorted(members):
        states[f"maia-bench-sync-wave-{wave}"] = {"maia_argocd.apps_synced": [
            {"apps": [{"name": name, "spec": specs[name]} for name in members[wave]]},
            {"timeout": 600}, {"interval": 5}, {"retries": 3}, {"retry_interval": 10},
            {"require": [{"maia_argocd": f"{name}-present"} for name in members[wave]]}]}
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
    from maia_lab.standins.argocd_controller import ArgoCDControllerStandin
    from maia_lab.standins.kube_api import KubeApiStandin

    from maia_lab.standins import argocd_manifest

    with tempfile.TemporaryDirectory(prefix="maia-bench-argocd-") as tmp, KubeApiStandin() as api:
        root = Path(tmp)
        (root / "states").mkdir()
        (root / "conf").mkdir()
        # the generated stand-in manifest, or a real release file (MAIA_ARGOCD_MANIFEST)
        manifest = root / argocd_manifest.FILE_NAME
        if os.environ.get("MAIA_ARGOCD_MANIFEST"):
            manifest.write_bytes(Path(os.environ["MAIA_ARGOCD_MANIFEST"]).read_bytes())
            manifest_sha256 = hashlib.sha256(manifest.read_bytes()).hexdigest()
        else:
            manifest_sha256 = argocd_manifest.write(manifest)
        (root / "states" / "bench.sls").write_text(json.dumps(_states(n_apps, manifest, manifest_sha256)))
        (root / "conf" / "minion").write_text(yaml.safe_dump({
            "id": "maia-bench", "file_client": "local", "root_dir": str(root / "root"),
            "file_roots": {"base": [str(root / "states"), str(REPO / "formulas")]},
            "maia": {"kubeconfig": api.kubeconfig}}))
        subprocess.run([SALT_CALL, "--local", "-c", str(root / "conf"), "--out=quiet", "saltutil.sync_all"],
                       check=True, timeout=600)
        with ArgoCDControllerStandin(api.kubeconfig, **LAB_CONTROLLER):
            first_time, first = _salt_apply(root / "conf")
            failed = {r["__id__"]: r["comment"] for r in first.values() if r["result"] is not True}
            if failed:
                raise SystemExit(f"first run failed: {json.dumps(failed, indent=1)}")
            api.reset_requests()
            second_time, second = _salt_apply(root / "conf")
        requests = [r for r in api.request_log_copy() if not (r["user_agent"] or "").startswith(CONTROLLER_UA)]
    return summarize(n_apps, first_time, first, second_time, second, requests)


def summarize(n_apps, first_time, first, second_time, second, requests):
    """The measured figures and the targets of the no-op run and of the first run's syncs."""
    per_app = collections.Counter()
    for r in requests:
        match = APP_PATH.match(r["path"])
        if match:
            per_app[match.group(1)] += 1
    by_method = collections.Counter(r["method"] for r in requests)
    reads = collections.Counter(r["path"] for r in requests if r["method"] == "GET")
    managed = len(second)  # one managed object per state, and 59 for the ArgoCD manifest
    managed += sum(59 - 1 for r in second.values() if r["__id__"] == "bench-argocd-installed")
    changed = sorted(r["__id__"] for r in second.values() if r["changes"])
    synced = [r for r in first.values() if r["__id__"].startswith("maia-bench-sync-wave-")]
    sync_seconds = round(sum(r.get("duration", 0) for r in synced) / 1000, 1)
    # one state per wave syncs and waits for the whole wave: its duration is the wave's
    per_wave = {int(r["__id__"][len("maia-bench-sync-wave-"):]): round(r.get("duration", 0) / 1000, 1)
                for r in synced}
    writes = sum(v for k, v in by_method.items() if k != "GET")
    result = {
        "benchmark": "argocd_api_calls",
        "stand_ins": ["maia_lab.standins.kube_api", "maia_lab.standins.argocd_controller"],
        "controller": LAB_CONTROLLER,
        "applications": n_apps,
        "waves": len(set(catalogue_waves(n_apps))),
        "first_run_seconds": round(first_time, 2),
        "first_run_sync_seconds": sync_seconds,
        "first_run_wave_seconds": {str(w): per_wave[w] for w in sorted(per_wave)},
        "noop_run_seconds": round(second_time, 2),
        "noop_changes": changed,
        "managed_objects": managed,
        "noop_requests_total": len(requests),
        "noop_writes": writes,
        "noop_reads": sum(reads.values()),
        "noop_reads_max_per_path": max(reads.values(), default=0),
        "noop_requests_per_app_max": max(per_app.values()) if per_app else 0,
        "noop_requests_per_app_mean": round(sum(per_app.values()) / n_apps, 2),
        "noop_requests_by_method": dict(by_method),
        "noop_requests_other": sorted({f"{r['method']} {r['path']}" for r in requests
                                       if not APP_PATH.match(r["path"])}),
        "budget_per_app": BUDGET_PER_APP,
    }
    result["targets"] = targets(result)
    result["ok"] = not changed and all(met for _, _, met in result["targets"])
    return result


def targets(result):
    """(target, measured, met) rows."""
    return [
        ("no-op run of the ArgoCD objects: no write request", f"{result['noop_writes']} writes",
         result["noop_writes"] == 0),
        ("no-op run: at most one read per managed object (a list per kind counts once)",
         f"{result['noop_reads']} reads for {result['managed_objects']} objects, "
         f"at most {result['noop_reads_max_per_path']} of one path",
         result["noop_reads"] <= result["managed_objects"] and result["noop_reads_max_per_path"] <= 1),
        (f"API requests per Application on a no-op run: <= {BUDGET_PER_APP}",
         f"max {result['noop_requests_per_app_max']}, mean {result['noop_requests_per_app_mean']}",
         result["noop_requests_per_app_max"] <= BUDGET_PER_APP),
        (f"first run, every wave synced and Healthy ({result['applications']} apps, {result['waves']} waves, "
         f"lab controller timings): <= {SYNC_TARGET_SECONDS:g} s", f"{result['first_run_sync_seconds']} s",
         result["first_run_sync_seconds"] <= SYNC_TARGET_SECONDS),
    ]


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
        print(f"{result['applications']} Applications in {result['waves']} waves; first run "
              f"{result['first_run_seconds']} s (sync states {result['first_run_sync_seconds']} s; "
              f"per wave {result['first_run_wave_seconds']}), "
              f"no-op run {result['noop_run_seconds']} s, {len(result['noop_changes'])} changes")
        print(f"no-op run: {result['noop_requests_total']} API requests {result['noop_requests_by_method']}")
        for target, measured, met in result["targets"]:
            print(f"target: {target}: {measured} -> {'met' if met else 'NOT met'}")
        print("OK" if result["ok"] else "FAILED")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
