"""What the ArgoCD states show of the objects they make (_utils/maia_argocd_objects.py): the
masked manifest of a new object, the paths of a patch, whether a spec change calls for a sync.

The comparison itself (normalise, diff, merge patch, masked changes) is tested through
_modules/maia_argocd.py in tests/unit/test_argocd_diff.py."""
import copy
import sys

from support.paths import REPO

sys.path.insert(0, str(REPO / "_utils"))
import maia_argocd_objects as objects  # noqa: E402

TOKEN = "harbor-robot-Tk93-never-shown"


def _spec(version="1.0.0"):
    return {"project": "maia-core",
            "source": {"repoURL": "https://grafana.github.io/helm-charts", "chart": "tempo", "targetRevision": version,
                       "helm": {"releaseName": "maia-core-tempo",
                                "valuesObject": {"auth": {"password": TOKEN}, "replicas": 2, "robot": TOKEN}}},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "observability"}}


def test_a_new_object_is_shown_with_its_secret_values_masked():
    app = objects.build_app("maia-core-tempo", _spec(), sync_wave=1)
    shown = objects.masked_manifest(app, ["robot"])
    assert set(shown) == {"metadata", "spec"}
    assert shown["metadata"]["annotations"] == {objects.SYNC_WAVE_ANNOTATION: "1"}
    values = shown["spec"]["source"]["helm"]["valuesObject"]
    assert values["replicas"] == 2 and values["robot"] == "<masked>"  # a secret_keys key
    assert TOKEN not in repr(shown)
    assert app["spec"]["source"]["helm"]["valuesObject"]["robot"] == TOKEN  # the object itself is not changed

    repo = objects.build_repository("maia-charts", "registry.maia.example/charts", "robot$maia", TOKEN)
    shown = objects.masked_manifest(repo)
    assert shown["data"]["url"] == "registry.maia.example/charts" and shown["data"]["type"] == "helm"
    assert shown["data"]["username"] == "<masked>" and shown["data"]["password"] == "<masked>"
    assert set(shown["data"]) - {"username", "password"} <= objects.REPOSITORY_PUBLIC_KEYS


def test_a_repository_secrets_changes_show_the_public_keys_only():
    old = objects.build_repository("maia-charts", "registry.maia.example/charts", "robot$maia", "old-" + TOKEN)
    new = objects.build_repository("maia-charts", "registry.example/charts", "robot$maia", TOKEN)
    live = dict(copy.deepcopy(old), data=objects.encode_secret_data(old["data"]))
    body, changes = objects.compare("Secret", live, new)
    assert set(objects.patch_paths(body)) == {"data.url", "data.password"}
    assert changes["data.url"] == {"old": "registry.maia.example/charts", "new": "registry.example/charts"}
    assert changes["data.password"] == {"old": "<masked>", "new": "<masked>"}


def test_patch_paths_name_every_leaf():
    patch = {"spec": {"source": {"targetRevision": "2.0.0", "helm": {"valuesObject": {"a": None}}}},
             "metadata": {"labels": {}}}
    assert objects.patch_paths(patch) == ["spec.source.targetRevision", "spec.source.helm.valuesObject.a",
                                          "metadata.labels"]
    assert objects.patch_paths({}) == []


def test_only_a_spec_change_calls_for_a_sync():
    live = copy.deepcopy(objects.build_app("maia-core-tempo", _spec()))
    live["metadata"].update(uid="u1", resourceVersion="42")
    live["status"] = {"sync": {"status": "Synced"}}
    assert objects.spec_would_change("maia-core-tempo", _spec(), live) is False
    assert objects.spec_would_change("maia-core-tempo", _spec("2.0.0"), live) is True
