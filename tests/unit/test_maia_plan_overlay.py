"""The records of a plan on a new site (_utils/maia_plan_overlay.py): what its earlier steps would
have made, as fingerprints that name fields and never hold values."""
import json
import os
import stat
import sys
import time

from support.paths import REPO

sys.path.insert(0, str(REPO / "_utils"))
import maia_plan_overlay as overlay  # noqa: E402

SECRET = "dashboard-token-Zq81-never-on-disk"


def plan_overlay(tmp_path, plan="0123abcd4567ef89", test=True):
    return overlay.active({"test": test, "cachedir": str(tmp_path)}, {"maia": {"orch": {"plan": plan}}})


def app(token):
    return {"spec": {"source": {"helm": {"valuesObject": {"clusters": [{"token": token, "domain": "maia.example"}]}}}}}


def test_only_a_plan_under_test_with_a_plain_id_has_records(tmp_path):
    assert plan_overlay(tmp_path) is not None
    assert plan_overlay(tmp_path, test=False) is None
    assert overlay.active({"test": True, "cachedir": str(tmp_path)}, {"maia": {}}) is None
    for bad in ("../../etc/passwd", "a/b", "", "x" * 81):
        assert plan_overlay(tmp_path, plan=bad) is None, bad


def test_a_later_step_sees_what_an_earlier_one_would_make_and_names_fields_not_values(tmp_path):
    first = plan_overlay(tmp_path)
    assert first.predict("Application argocd/dash", app("")) is None  # no record: it would be created
    assert first.predict("Application argocd/dash", app("")) == []  # as the earlier step leaves it

    later = plan_overlay(tmp_path)  # the next step of the same plan: a new process, the same file
    assert later.predict("Application argocd/dash", app(SECRET)) == ["spec.source.helm.valuesObject.clusters.0.token"]
    assert later.predict("Application argocd/dash", app(SECRET)) == []  # recorded with the new token

    path = tmp_path / "maia_plan" / "0123abcd4567ef89.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SECRET not in path.read_text() and "maia.example" not in path.read_text()
    assert plan_overlay(tmp_path, plan="another-plan").get("Application argocd/dash") is None


def test_objects_are_summarised_as_an_apply_would_be(tmp_path):
    records = plan_overlay(tmp_path)
    namespaces = {f"Namespace {n}": {"kind": "Namespace", "metadata": {"name": n}} for n in ("a", "b")}
    assert records.predict_objects(namespaces) == {"objects": 2, "created": ["Namespace a", "Namespace b"], "changed": []}
    relabelled = dict(namespaces, **{"Namespace b": {"kind": "Namespace", "metadata": {"name": "b", "labels": {"x": "1"}}}})
    assert plan_overlay(tmp_path).predict_objects(relabelled) == {"objects": 2, "created": [], "changed": ["metadata.labels.x"]}


def test_old_plans_are_removed_when_a_new_one_writes(tmp_path):
    folder = tmp_path / "maia_plan"
    folder.mkdir()
    old, recent = folder / "old.json", folder / "recent.json"
    for path in (old, recent):
        path.write_text(json.dumps({"records": {}}))
    day_ago = time.time() - overlay.KEEP_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    plan_overlay(tmp_path).record("Namespace a", {"metadata": {"name": "a"}})
    assert sorted(p.name for p in folder.iterdir()) == ["0123abcd4567ef89.json", "recent.json"]


def test_the_namespaces_state_of_a_later_step_finds_them_made_before_any_client_is_installed(tmp_path):
    """_states/maia_k8s.py objects_present in a plan on a new site over salt-ssh: the host has no
    Python Kubernetes client yet (stage 2 installs it). The admin step predicts the namespaces
    created; the dashboard step of the same plan finds them made; without a plan both predict."""
    from support.modules import load_salt_module

    manifests = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in ("harbor", "keycloak")]

    def run(pillar):
        state = load_salt_module("_states/maia_k8s.py", "maia_k8s_in_a_plan", opts={"test": True, "cachedir": str(tmp_path)})
        state.__pillar__ = pillar
        return state.objects_present("maia-admin-namespaces-present", manifests)

    plan = {"maia": {"orch": {"plan": "0123abcd4567ef89"}}}
    first = run(plan)
    assert first["result"] is None and first["changes"] == {
        "Namespace harbor": {"old": None, "new": "present"}, "Namespace keycloak": {"old": None, "new": "present"}}
    later = run(plan)
    assert later["result"] is True and later["changes"] == {}
    alone = run({})
    assert alone["result"] is None and list(alone["changes"]) == ["maia-admin-namespaces-present"]
