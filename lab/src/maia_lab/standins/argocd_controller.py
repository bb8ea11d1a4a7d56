"""ArgoCD application-controller stand-in (for tests, benchmarks and the lab).

Stands in for ``argocd-application-controller``, which this machine cannot
run (there is no kube-apiserver, no container runtime, no helm charts to
render). It polls the Applications in one namespace of a Kubernetes API --
normally the Kubernetes API stand-in (``maia_lab.standins.kube_api``) -- and
moves them through the states the real controller would, writing the same
fields of ``status``:

- a new or changed spec: ``status.sync.status`` ``OutOfSync`` (``comparedTo``
  records the spec compared; health ``Missing`` before the first sync); with
  ``spec.syncPolicy.automated`` the stand-in starts a sync by itself;
- ``operation`` set: ``status.operationState`` ``Running``, then after
  ``sync_seconds`` ``Succeeded`` (``operation`` cleared, ``status.sync``
  ``Synced`` at ``status.sync.revision``, ``status.resources`` listed, health
  ``Progressing``), then after ``progress_seconds`` health ``Healthy``;
- ``metadata.deletionTimestamp`` with the resources finalizer: the finalizer is
  removed (as if the app's resources had been deleted).
- ``needs_address`` apps (``--needs-address NAME``) have a Service of type
  LoadBalancer: once an ``address_pool`` app (``--address-pool NAME``, the one
  whose chart makes the MetalLB pool) is given and not yet synced, their
  Deployment turns Healthy but their Service stays ``Progressing`` and so does
  the app, as ArgoCD's health of a LoadBalancer Service without
  ``status.loadBalancer.ingress``; they turn Healthy once the pool app is Synced.

Apps can be told to misbehave, by constructor option or by annotation
``standin.maia-salt.io/outcome`` (message in ``standin.maia-salt.io/message``):

``degraded``       synced, then health ``Degraded`` with the message
``sync-failed``    the sync operation ends ``Failed`` with the message
``stuck``          the sync operation stays ``Running`` forever
``never-healthy``  synced, health stays ``Progressing``
``needs-address``  as ``--needs-address`` (its Service waits for the address pool)

Nothing here knows the API stand-in's internals: it talks HTTP through the
official ``kubernetes`` client with a kubeconfig, user agent
``maia-salt-standin/argocd-controller`` (so request logs can tell its requests
from Salt's).

CLI (the lab starts it on the control-plane host)::

    python -m maia_lab.standins.argocd_controller --kubeconfig K \
        [--namespace argocd] [--interval 0.5] [--degraded NAME[=MSG]] [--stuck NAME] ...
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import logging
import signal
import threading
import time

log = logging.getLogger("maia_lab.standins.argocd_controller")

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"
USER_AGENT = "maia-salt-standin/argocd-controller"
OUTCOME_ANNOTATION = "standin.maia-salt.io/outcome"
MESSAGE_ANNOTATION = "standin.maia-salt.io/message"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
OUTCOMES = ("healthy", "degraded", "sync-failed", "stuck", "never-healthy", "needs-address")
# ArgoCD shows no message for a LoadBalancer Service without an address; the stand-in says why
ADDRESS_MESSAGE = "waiting for a load-balancer address (no address pool yet)"
_KEEP = object()
# The core layer as on a cluster whose only load balancer is its own MetalLB: Traefik's and
# ingress-nginx's LoadBalancer Services get their addresses from the pool in the toolkit's chart
# (the lab, the core layer's tests and the bench run the controller so)
MAIA_CORE_ADDRESSES = {"needs_address": ("maia-core-traefik", "maia-core-ingress-nginx"),
                       "address_pool": "maia-core-toolkit"}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sources(spec):
    return spec.get("sources") or ([spec["source"]] if spec.get("source") else [])


def _revision(source):
    """What ArgoCD reports as the synced revision: the chart version for a helm
    chart, a (fake, stable) commit SHA for a git path."""
    if source.get("chart"):
        return str(source.get("targetRevision", ""))
    ref = f"{source.get('repoURL')}@{source.get('targetRevision', 'HEAD')}"
    return hashlib.sha1(ref.encode()).hexdigest()


def _compared_to(spec):
    compared = {"destination": spec.get("destination") or {}}
    if spec.get("sources"):
        compared["sources"] = spec["sources"]
    else:
        compared["source"] = spec.get("source") or {}
    return compared


class ArgoCDControllerStandin:
    """Poll Applications and move them through ArgoCD's sync and health states.

    ``outcomes`` maps app names to ``(outcome, message)`` (see module doc);
    annotations on the Application override it.
    """

    def __init__(self, kubeconfig: str, namespace: str = "argocd", interval: float = 0.2,
                 sync_seconds: float = 0.3, progress_seconds: float = 0.3,
                 outcomes: dict | None = None, context: str | None = None,
                 needs_address=(), address_pool: str | None = None):
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.interval = float(interval)
        self.sync_seconds = float(sync_seconds)
        self.progress_seconds = float(progress_seconds)
        self.outcomes = dict(outcomes or {})
        self.context = context
        self.needs_address = set(needs_address or ())
        self.address_pool = address_pool
        self._pool_ready = False  # the address_pool app is Synced (set by each pass)
        self._api = None
        self._stop = threading.Event()
        self._thread = None
        self._since: dict[tuple, float] = {}  # (uid, what) -> monotonic time first seen
        self.errors = 0
        self._waiting_for_crd = False

    # ---------------------------------------------------------------- plumbing
    @property
    def api(self):
        if self._api is None:
            from kubernetes import client, config

            api_client = config.new_client_from_config(config_file=self.kubeconfig, context=self.context,
                                                       persist_config=False)
            api_client.user_agent = USER_AGENT
            self._api = client.CustomObjectsApi(api_client)
        return self._api

    def start(self):
        """Run in a daemon thread until ``stop()``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="argocd-controller-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def run(self):
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # pylint: disable=broad-except
                self.errors += 1
                log.warning("argocd controller stand-in: %s", exc)
            self._stop.wait(self.interval)

    def tick(self):
        """One reconciliation pass over every Application in the namespace."""
        from kubernetes.client.exceptions import ApiException

        try:
            listing = self.api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        except ApiException as exc:
            if exc.status == 404:  # ArgoCD's CRDs not installed yet (stage 2 has not run): wait quietly
                if not self._waiting_for_crd:
                    log.info("no Applications served yet (ArgoCD CRDs not installed); waiting")
                self._waiting_for_crd = True
                return
            raise
        if self._waiting_for_crd:
            log.info("Applications are served now")
            self._waiting_for_crd = False
        items = listing.get("items") or []
        self._pool_ready = any(
            (a.get("metadata") or {}).get("name") == self.address_pool
            and ((a.get("status") or {}).get("sync") or {}).get("status") == "Synced"
            and ((a.get("status") or {}).get("operationState") or {}).get("phase") == "Succeeded"
            for a in items)
        for app in items:
            self.reconcile(app)

    def awaits_address(self, app, outcome):
        """Does this app's LoadBalancer Service still wait for an address from the pool app?"""
        needs = outcome == "needs-address" or (app.get("metadata") or {}).get("name") in self.needs_address
        return needs and self.address_pool is not None and not self._pool_ready

    def _patch(self, app, body):
        """Merge patch (metadata only: finalizers)."""
        from kubernetes.client.exceptions import ApiException

        meta = app["metadata"]
        body = dict(body)
        body.setdefault("metadata", {})["resourceVersion"] = meta.get("resourceVersion")
        try:
            self.api.patch_namespaced_custom_object(GROUP, VERSION, meta["namespace"], PLURAL,
                                                    meta["name"], body)
        except ApiException as exc:
            if exc.status in (404, 409):  # deleted or changed meanwhile: next tick
                return
            raise

    def _write(self, app, status=None, operation=_KEEP):
        """Write status as the real controller does: each top-level status field
        given is replaced whole (not merged), the rest of status kept; the
        ``operation`` field set or removed. A JSON patch guarded by the
        resourceVersion, so a change made meanwhile (a new operation) is never
        overwritten: the next tick sees it."""
        from kubernetes.client.exceptions import ApiException

        meta = app["metadata"]
        ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")}]
        if status is not None:
            ops.append({"op": "add", "path": "/status", "value": {**(app.get("status") or {}), **status}})
        if operation is None and "operation" in app:
            ops.append({"op": "remove", "path": "/operation"})
        elif operation is not _KEEP and operation is not None:
            ops.append({"op": "add", "path": "/operation", "value": operation})
        try:
            self.api.patch_namespaced_custom_object(GROUP, VERSION, meta["namespace"], PLURAL, meta["name"],
                                                    ops, _content_type="application/json-patch+json")
        except ApiException as exc:
            if exc.status in (404, 409, 422):  # deleted or changed meanwhile: next tick
                return
            raise

    def _elapsed(self, app, what):
        key = (app["metadata"].get("uid") or app["metadata"]["name"], what)
        start = self._since.setdefault(key, time.monotonic())
        return time.monotonic() - start

    def _forget(self, app, what):
        self._since.pop((app["metadata"].get("uid") or app["metadata"]["name"], what), None)

    def outcome(self, app):
        meta = app.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        default = self.outcomes.get(meta.get("name"), ("healthy", ""))
        if isinstance(default, str):
            default = (default, "")
        outcome = annotations.get(OUTCOME_ANNOTATION, default[0])
        message = annotations.get(MESSAGE_ANNOTATION, default[1])
        if outcome not in OUTCOMES:
            log.warning("unknown outcome %r for %s; using healthy", outcome, meta.get("name"))
            outcome = "healthy"
        return outcome, message

    # ---------------------------------------------------------------- states
    def _resources(self, app, sync_status, health, message="", service=None):
        spec = app.get("spec") or {}
        dest_ns = (spec.get("destination") or {}).get("namespace") or ""
        out, service_health = [], service
        for source in _sources(spec):
            release = ((source.get("helm") or {}).get("releaseName")) or app["metadata"]["name"]
            workload = {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": dest_ns,
                        "name": release, "status": sync_status, "health": {"status": health}}
            if message:
                workload["health"]["message"] = message
            service = {"version": "v1", "kind": "Service", "namespace": dest_ns, "name": release,
                       "status": sync_status, "health": {"status": "Healthy" if sync_status == "Synced"
                                                         else "Missing"}}
            if service_health:  # (status, message): a LoadBalancer Service waiting for its address
                service["health"] = {"status": service_health[0], "message": service_health[1]}
            out.extend([workload, service])
        return out

    def reconcile(self, app):
        meta = app.get("metadata") or {}
        spec = app.get("spec") or {}
        status = app.get("status") or {}
        sync = status.get("sync") or {}
        health = (status.get("health") or {}).get("status")
        op_state = status.get("operationState") or {}
        outcome, message = self.outcome(app)

        if meta.get("deletionTimestamp"):
            finalizers = meta.get("finalizers") or []
            if RESOURCES_FINALIZER in finalizers:
                rest = [f for f in finalizers if f != RESOURCES_FINALIZER]
                self._patch(app, {"metadata": {"finalizers": rest or None}})
            return

        compared = _compared_to(spec)
        revisions = [_revision(s) for s in _sources(spec)]
        revision_fields = ({"revisions": revisions} if spec.get("sources")
                           else {"revision": revisions[0] if revisions else ""})
        operation = app.get("operation")

        if operation:
            if op_state.get("phase") != "Running" or op_state.get("operation") != operation:
                self._forget(app, "operation")
                self._elapsed(app, "operation")
                log.info("%s: sync operation started", meta.get("name"))
                self._write(app, {
                    "operationState": {"operation": operation, "phase": "Running",
                                       "message": "one or more tasks are running", "startedAt": _now()},
                    "reconciledAt": _now()})
                return
            if outcome == "stuck" or self._elapsed(app, "operation") < self.sync_seconds:
                if outcome == "stuck" and not op_state.get("message", "").startswith("waiting"):
                    release = self._resources(app, "OutOfSync", "Progressing")[0]["name"] if _sources(spec) else ""
                    self._write(app, {"operationState": dict(
                        op_state, message=message or f"waiting for completion of hook batch/Job/{release}-pre-install")})
                return
            self._forget(app, "operation")
            finished = dict(op_state, finishedAt=_now())
            if outcome == "sync-failed":
                log.info("%s: sync operation Failed", meta.get("name"))
                finished.update(phase="Failed", message=message or
                                "one or more objects failed to apply, reason: admission webhook denied the request")
                self._write(app, {
                    "operationState": finished,
                    "sync": dict(sync, status="OutOfSync", comparedTo=compared),
                    "resources": self._resources(app, "OutOfSync", "Missing"),
                    "reconciledAt": _now()}, operation=None)
                return
            finished.update(phase="Succeeded", message="successfully synced (all tasks run)",
                            syncResult={**revision_fields, "source": compared.get("source"),
                                        "resources": [{"kind": r["kind"], "namespace": r["namespace"],
                                                       "name": r["name"], "status": "Synced",
                                                       "message": "created"}
                                                      for r in self._resources(app, "Synced", "")]})
            self._forget(app, "progress")
            self._elapsed(app, "progress")
            log.info("%s: sync operation Succeeded at %s; Progressing", meta.get("name"), revision_fields)
            history = list(status.get("history") or [])
            history.append({"id": len(history), **revision_fields, "deployedAt": _now(),
                            "source": compared.get("source")})
            self._write(app, {
                "operationState": finished,
                "sync": {"status": "Synced", "comparedTo": compared, **revision_fields},
                "health": {"status": "Progressing"},
                "resources": self._resources(app, "Synced", "Progressing"),
                "history": history[-10:],
                "reconciledAt": _now()}, operation=None)
            return

        if sync.get("comparedTo") != compared or not sync.get("status"):
            was_synced = bool(status.get("history"))
            log.info("%s: OutOfSync (spec compared)", meta.get("name"))
            self._write(app, {
                "sync": {"status": "OutOfSync", "comparedTo": compared,
                         **({"revision": sync.get("revision")} if sync.get("revision") else {})},
                "health": {"status": health if was_synced and health else "Missing"},
                "resources": self._resources(app, "OutOfSync", "Missing"),
                "reconciledAt": _now()})
            return

        automated = (spec.get("syncPolicy") or {}).get("automated") is not None
        if sync.get("status") == "OutOfSync" and automated and op_state.get("phase") != "Failed":
            self._write(app, operation={"initiatedBy": {"automated": True},
                                        "sync": {"prune": bool(spec["syncPolicy"]["automated"].get("prune"))}})
            return

        if sync.get("status") == "Synced" and health == "Progressing":
            if outcome == "never-healthy" or self._elapsed(app, "progress") < self.progress_seconds:
                return
            if outcome != "degraded" and self.awaits_address(app, outcome):
                if (status.get("health") or {}).get("message") != ADDRESS_MESSAGE:  # written once
                    log.info("%s: Progressing, its Service waits for an address", meta.get("name"))
                    self._write(app, {
                        "health": {"status": "Progressing", "message": ADDRESS_MESSAGE},
                        "resources": self._resources(app, "Synced", "Healthy",
                                                     service=("Progressing", ADDRESS_MESSAGE)),
                        "reconciledAt": _now()})
                return
            self._forget(app, "progress")
            if outcome == "degraded":
                release = self._resources(app, "Synced", "Degraded")[0]["name"] if _sources(spec) else ""
                text = message or f'Deployment "{release}" exceeded its progress deadline'
                log.info("%s: Degraded (%s)", meta.get("name"), text)
                self._write(app, {
                    "health": {"status": "Degraded", "message": text},
                    "resources": self._resources(app, "Synced", "Degraded", text),
                    "reconciledAt": _now()})
            else:
                log.info("%s: Healthy", meta.get("name"))
                self._write(app, {
                    "health": {"status": "Healthy"},
                    "resources": self._resources(app, "Synced", "Healthy"),
                    "reconciledAt": _now()})


def address_args(addresses=None) -> list[str]:
    """The command-line options of ``addresses`` (``MAIA_CORE_ADDRESSES`` unless given)."""
    addresses = MAIA_CORE_ADDRESSES if addresses is None else addresses
    args = [arg for name in addresses.get("needs_address", ()) for arg in ("--needs-address", name)]
    return args + (["--address-pool", addresses["address_pool"]] if addresses.get("address_pool") else [])


def _named(values, outcome):
    out = {}
    for value in values or []:
        name, _, message = value.partition("=")
        out[name] = (outcome, message)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m maia_lab.standins.argocd_controller",
        description="ArgoCD application-controller stand-in: moves Applications through "
                    "OutOfSync/Syncing/Synced and Progressing/Healthy/Degraded.")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--context")
    parser.add_argument("--namespace", default="argocd")
    parser.add_argument("--interval", type=float, default=0.5, help="poll interval, seconds")
    parser.add_argument("--sync-seconds", type=float, default=1.0, help="how long a sync runs")
    parser.add_argument("--progress-seconds", type=float, default=2.0,
                        help="how long an app stays Progressing after a sync")
    parser.add_argument("--degraded", action="append", metavar="NAME[=MESSAGE]")
    parser.add_argument("--sync-failed", action="append", metavar="NAME[=MESSAGE]")
    parser.add_argument("--stuck", action="append", metavar="NAME")
    parser.add_argument("--never-healthy", action="append", metavar="NAME")
    parser.add_argument("--needs-address", action="append", metavar="NAME",
                        help="an app with a LoadBalancer Service: Progressing until --address-pool is Synced")
    parser.add_argument("--address-pool", metavar="NAME", help="the app whose sync makes the address pool")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    outcomes = {**_named(args.degraded, "degraded"), **_named(args.sync_failed, "sync-failed"),
                **_named(args.stuck, "stuck"), **_named(args.never_healthy, "never-healthy")}
    controller = ArgoCDControllerStandin(args.kubeconfig, args.namespace, args.interval,
                                         args.sync_seconds, args.progress_seconds, outcomes,
                                         args.context, args.needs_address, args.address_pool)
    if args.once:
        controller.tick()
        return 0
    signal.signal(signal.SIGTERM, lambda *_: controller._stop.set())  # pylint: disable=protected-access
    log.info("argocd controller stand-in watching %s (kubeconfig %s)", args.namespace, args.kubeconfig)
    try:
        controller.run()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
