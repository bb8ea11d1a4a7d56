"""Unit tests of the normalised comparison in _modules/maia_argocd.py: normalise,
diff, merge patch, masked changes, manifests, status summaries.

No API server: the module is imported from its file with its Salt dunders
(``__salt__`` holding the real maia_secrets functions) set by the fixture.
"""

import pytest
from support.modules import load_salt_module



def _load(name):
    return load_salt_module(f"_modules/{name}.py", f"_unit_{name}")


@pytest.fixture(scope="module")
def argocd():
    secrets = _load("maia_secrets")
    module = _load("maia_argocd")
    module.__salt__ = {f"maia_secrets.{fn}": getattr(secrets, fn) for fn in ("mask", "collect", "scrub")}
    module.__context__ = {}
    module.__opts__ = {"test": False}
    return module


@pytest.fixture(scope="module")
def argocd_sync(argocd):
    """_modules/maia_argocd_sync.py, reaching the argocd module through its __salt__ as in Salt."""
    module = _load("maia_argocd_sync")
    module.__salt__ = dict(argocd.__salt__, **{f"maia_argocd.{fn}": getattr(argocd, fn) for fn in ("normalize", "diff")})
    module.__context__ = {}
    module.__opts__ = {"test": False}
    return module


def _spec(version="1.0.0", values=None):
    return {
        "project": "maia-core",
        "source": {
            "repoURL": "https://grafana.github.io/helm-charts",
            "chart": "tempo",
            "targetRevision": version,
            "helm": {"releaseName": "maia-core-tempo", "valuesObject": values or {}},
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "observability"},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
    }


def _live(desired, **extra_status):
    live = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": desired["metadata"]["name"], "namespace": "argocd", "uid": "u1",
                     "resourceVersion": "42", "generation": 3,
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}",
                                     **(desired["metadata"].get("annotations") or {})},
                     "labels": {"other": "label"}},
        "spec": desired["spec"],
        "status": {"sync": {"status": "Synced"}, **extra_status},
    }
    return live


def test_normalize_drops_empty_values_at_every_level(argocd):
    assert argocd.normalize({"a": None, "b": {}, "c": [], "d": {"e": None, "f": {"g": {}}}, "h": (1, 2),
                             "i": 0, "j": False, "k": ""}) == {"h": [1, 2], "i": 0, "j": False, "k": ""}


def test_identical_app_gives_no_patch_even_with_server_side_extras(argocd):
    desired = argocd.build_app("maia-core-tempo", _spec(), sync_wave=2)
    live = _live(desired)
    live["spec"] = dict(live["spec"], source=dict(live["spec"]["source"], helm={
        "releaseName": "maia-core-tempo", "valuesObject": {}, "parameters": []}))
    body, changes = argocd.compare("Application", live, desired)
    assert body == {} and changes == {}


def test_changed_version_patches_only_that_field(argocd):
    desired = argocd.build_app("maia-core-tempo", _spec("1.1.0"))
    live = _live(argocd.build_app("maia-core-tempo", _spec("1.0.0")))
    body, changes = argocd.compare("Application", live, desired)
    assert body == {"spec": {"source": {"targetRevision": "1.1.0"}}}
    assert changes == {"spec.source.targetRevision": {"old": "1.0.0", "new": "1.1.0"}}


def test_removed_value_is_nulled_and_list_replaced_whole(argocd):
    live = _live(argocd.build_app("a", _spec(values={"x": 1, "y": {"z": 2}, "l": [1, 2]})))
    desired = argocd.build_app("a", _spec(values={"y": {"z": 2}, "l": [1, 2, 3]}))
    body, changes = argocd.compare("Application", live, desired)
    values_patch = body["spec"]["source"]["helm"]["valuesObject"]
    assert values_patch == {"x": None, "l": [1, 2, 3]}
    assert changes["spec.source.helm.valuesObject.x"] == {"old": 1, "new": None}
    assert changes["spec.source.helm.valuesObject.l"] == {"old": [1, 2], "new": [1, 2, 3]}


def test_sync_wave_annotation_compared_but_foreign_annotations_left_alone(argocd):
    live = _live(argocd.build_app("a", _spec(), sync_wave=1))
    desired = argocd.build_app("a", _spec(), sync_wave=5)
    body, changes = argocd.compare("Application", live, desired)
    assert body == {"metadata": {"annotations": {"argocd.argoproj.io/sync-wave": "5"}}}
    assert list(changes) == ["metadata.annotations.argocd.argoproj.io/sync-wave"]


def test_changed_secret_shows_masked_on_both_sides(argocd):
    live = _live(argocd.build_app("a", _spec(values={"grafana": {"adminPassword": "old-pass-111"}})))
    desired = argocd.build_app("a", _spec(values={"grafana": {"adminPassword": "new-pass-222"},
                                                  "extra": {"clientSecret": "new-secret-333"}}))
    body, changes = argocd.compare("Application", live, desired)
    assert body["spec"]["source"]["helm"]["valuesObject"]["grafana"]["adminPassword"] == "new-pass-222"
    assert changes["spec.source.helm.valuesObject.grafana.adminPassword"] == {
        "old": "<masked>", "new": "<masked>"}
    text = repr(changes)
    for leaked in ("old-pass-111", "new-pass-222", "new-secret-333"):
        assert leaked not in text


def test_secret_keys_argument_masks_more_keys(argocd):
    live = _live(argocd.build_app("a", _spec(values={"dashboard": {"users": "admin:hash-1"}})))
    desired = argocd.build_app("a", _spec(values={"dashboard": {"users": "admin:hash-2"}}))
    _, plain = argocd.compare("Application", live, desired)
    assert "admin:hash-2" in repr(plain)
    _, masked = argocd.compare("Application", live, desired, secret_keys=["dashboard.users"])
    assert "admin:hash" not in repr(masked)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"destination": {"server": "s"}}, "spec.source (or spec.sources) is required"),
        ({"source": {"chart": "c", "targetRevision": "1"}, "destination": {"server": "s"}}, "repoURL is required"),
        ({"source": {"repoURL": "r", "chart": "c"}, "destination": {"server": "s"}}, "targetRevision"),
        ({"source": {"repoURL": "r", "path": "p"}}, "spec.destination needs server"),
        ({"source": {"repoURL": "r", "path": "p"}, "destination": {"server": "s"}, "sorce": {}}, "unknown spec key(s) sorce"),
        ("not a dict", "spec must be a mapping"),
    ],
)
def test_bad_app_spec_is_refused_with_the_key_named(argocd, spec, message):
    from salt.exceptions import CommandExecutionError

    with pytest.raises(CommandExecutionError) as err:
        argocd.build_app("maia-core-x", spec)
    assert message in str(err.value) and "maia-core-x" in str(err.value)
    assert err.value.info == {"maia_error": "invalid"}  # the kind states read (_utils/maia_error_kinds.py)


def test_bad_sync_wave_is_refused(argocd):
    with pytest.raises(Exception, match="sync_wave must be an integer"):
        argocd.build_app("a", _spec(), sync_wave="first")


def test_repository_secret_compares_decoded_data_and_masks_credentials(argocd):
    desired = argocd.build_repository("maia-registry", "registry.example.org/maia", "robot$maia", "pw-new-444")
    assert desired["metadata"]["labels"] == {"argocd.argoproj.io/secret-type": "repository"}
    assert desired["data"]["enableOCI"] == "true" and desired["data"]["type"] == "helm"
    live = {"metadata": dict(desired["metadata"]),
            "data": argocd.encode_secret_data(dict(desired["data"], password="pw-old-555"))}
    body, changes = argocd.compare("Secret", live, desired)
    assert list(body["data"]) == ["password"]
    assert argocd.decode_secret_data(body["data"]) == {"password": "pw-new-444"}
    assert changes == {"data.password": {"old": "<masked>", "new": "<masked>"}}
    live["data"] = argocd.encode_secret_data(desired["data"])
    assert argocd.compare("Secret", live, desired) == ({}, {})


def test_summary_and_report_of_a_degraded_app(argocd, argocd_sync):
    app = {"metadata": {"name": "maia-core-loki"}, "spec": _spec(), "status": {
        "sync": {"status": "Synced", "revision": "2.9.9"},
        "health": {"status": "Degraded"},
        "operationState": {"phase": "Succeeded", "message": "successfully synced (all tasks run)"},
        "resources": [
            {"kind": "Deployment", "namespace": "observability", "name": "loki", "status": "Synced",
             "health": {"status": "Degraded", "message": "Deployment exceeded its progress deadline"}},
            {"kind": "Service", "namespace": "observability", "name": "loki", "status": "Synced",
             "health": {"status": "Healthy"}},
        ]}}
    summary = argocd_sync.summarize(app)
    assert summary["health"] == "Degraded" and not argocd_sync.is_converged(summary)
    assert summary["unhealthy"] == [{"resource": "Deployment/observability/loki", "sync": "Synced",
                                     "health": "Degraded",
                                     "message": "Deployment exceeded its progress deadline"}]
    report = argocd_sync.describe(summary)
    assert "health Degraded" in report and "exceeded its progress deadline" in report
    assert "Service" not in report


def test_stale_comparison_is_not_converged(argocd, argocd_sync):
    app = {"metadata": {"name": "a"}, "spec": _spec("1.1.0"), "status": {
        "sync": {"status": "Synced", "revision": "1.0.0",
                 "comparedTo": {"source": _spec("1.0.0")["source"], "destination": _spec()["destination"]}},
        "health": {"status": "Healthy"}}}
    summary = argocd_sync.summarize(app)
    assert not summary["current"] and not argocd_sync.is_converged(summary)
    app["status"]["sync"]["comparedTo"]["source"] = _spec("1.1.0")["source"]
    assert argocd_sync.is_converged(argocd_sync.summarize(app))


def test_sync_operation_carries_its_id(argocd, argocd_sync):
    app = {"metadata": {"name": "a", "namespace": "argocd"}, "spec": _spec()}
    operation = argocd_sync._sync_operation(app, "id-1")
    assert operation["info"] == [{"name": "maia-salt-sync-id", "value": "id-1"}]
    assert operation["sync"]["syncOptions"] == ["CreateNamespace=true"]
    done = dict(app, status={"operationState": {"phase": "Succeeded", "operation": operation}})
    assert argocd_sync._operation_done(done, "id-1")
    assert not argocd_sync._operation_done(done, "id-2")
    assert not argocd_sync._operation_done(dict(done, operation=operation), "id-1")
