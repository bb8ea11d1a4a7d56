"""One app's line of a sync wave's report (_utils/maia_argocd_status.py, ``sync_report``), from
the outcomes ``maia_argocd_sync.sync_wave`` returns: result, changes and comment.

The wave itself (syncs, waits, retries) runs against the ArgoCD controller stand-in in
tests/functional/test_argocd_states.py."""
import sys

from support.paths import REPO

sys.path.insert(0, str(REPO / "_utils"))
import maia_argocd_status as status  # noqa: E402

WHAT = "Application argocd/tempo"


def _app(sync, health, revision):
    return {"metadata": {"name": "tempo"},
            "status": {"sync": {"status": sync, "revision": revision}, "health": {"status": health}}}


BEFORE = status.summarize(_app("OutOfSync", "Healthy", "1.0.0"))
AFTER = status.summarize(_app("Synced", "Healthy", "2.0.0"))


def _outcome(**kw):
    return {"result": True, "reason": "synced", "attempts": 1, "synced": True, "before": BEFORE,
            "after": AFTER, "report": "tempo: sync Synced, health Healthy", "wave": ["tempo"], **kw}


def test_an_app_already_synced_reports_no_change():
    converged = status.summarize(_app("Synced", "Healthy", "1.0.0"))
    outcome = dict(status.unchanged(converged), wave=["tempo", "loki"])
    assert status.sync_report("tempo", WHAT, outcome) == (
        True, {}, f"{WHAT} is Synced and Healthy at revision 1.0.0")


def test_a_sync_reports_its_status_and_revision_and_the_wave_it_ran_in():
    result, changes, comment = status.sync_report("tempo", WHAT, _outcome(attempts=2, wave=["tempo", "loki"]))
    assert result is True
    assert changes == {"sync": {"old": "OutOfSync/Healthy", "new": "Synced/Healthy"},
                       "revision": {"old": "1.0.0", "new": "2.0.0"}}
    assert comment == f"{WHAT} synced after 2 attempts (in one wave with loki): tempo: sync Synced, health Healthy"
    same_revision = _outcome(after=status.summarize(_app("Synced", "Healthy", "1.0.0")))
    assert set(status.sync_report("tempo", WHAT, same_revision)[1]) == {"sync"}


def test_a_wait_without_a_sync_changes_nothing():
    assert status.sync_report("tempo", WHAT, _outcome(synced=False)) == (
        True, {}, f"{WHAT} is Synced and Healthy (waited): tempo: sync Synced, health Healthy")


def test_a_failure_says_why_and_keeps_the_request_it_made():
    failed = _outcome(result=False, reason="degraded", attempts=3, report="tempo: health Degraded")
    assert status.sync_report("tempo", WHAT, failed) == (
        False, {"sync": {"old": "OutOfSync/Healthy", "new": "requested"}},
        f"{WHAT} is not Synced and Healthy (after 3 attempts): tempo: health Degraded")
    once = _outcome(result=False, reason="timeout", synced=False, report="tempo: sync OutOfSync")
    assert status.sync_report("tempo", WHAT, once) == (
        False, {}, f"{WHAT} is not Synced and Healthy (after 1 attempt): tempo: sync OutOfSync")
    missing = {"result": False, "reason": "missing", "attempts": 0, "synced": False, "before": None,
               "after": None, "report": f"{WHAT} not found", "wave": ["tempo"]}
    assert status.sync_report("tempo", WHAT, missing) == (False, {}, f"{WHAT} not found")


def _waiting(*resources, sync="Synced", health="Progressing"):
    app = _app(sync, health, "1.0.0")
    app["status"]["resources"] = [{"kind": kind, "namespace": "traefik", "name": "traefik", "status": "Synced",
                                   "health": {"status": res_health}} for kind, res_health in resources]
    return status.summarize(app)


def test_an_app_healthy_but_for_an_address_is_told_apart():
    """ArgoCD keeps a LoadBalancer Service (and an Ingress) Progressing until it has an address."""
    assert status.awaits_address(_waiting(("Deployment", "Healthy"), ("Service", "Progressing")))
    assert status.awaits_address(_waiting(("Ingress", "Progressing")))
    # a workload still rolling out, a Degraded Service, an app not synced, or nothing pending: no
    assert not status.awaits_address(_waiting(("Deployment", "Progressing"), ("Service", "Progressing")))
    assert not status.awaits_address(_waiting(("Service", "Degraded"), health="Degraded"))
    assert not status.awaits_address(_waiting(("Service", "Progressing"), sync="OutOfSync"))
    assert not status.awaits_address(_waiting(("Deployment", "Healthy")))
    # the wave's report says so, and the change is what the app is now
    waiting = _waiting(("Service", "Progressing"))
    result, changes, comment = status.sync_report("traefik", WHAT, _outcome(reason="address", after=waiting))
    assert result is True and changes["sync"] == {"old": "OutOfSync/Healthy", "new": "Synced/Progressing"}
    assert "Healthy but for an address its Services or Ingresses wait for (the later waves go on)" in comment
