"""Tests mirror the tree (docs/development.md, "Where a module's tests are"): a product module
``<folder>/<name>.py`` has its tests in ``test_<name>.py`` or ``test_<name>_<what>.py`` (under
``tests/<tier>/`` or ``lab/tests/``), or, where its tests are another module's, in the files the
docs' map names for it (each of which names the module). ``NOT_YET`` lists the modules with
neither: it may only shrink, and a new product module comes with its test file."""
import re
from pathlib import Path

from support.paths import REPO

PRODUCT_FOLDERS = ("_modules", "_states", "_utils", "_grains", "_beacons", "_pillar", "_runners", "_wrapper",
                   "_orch_states", "src/maia_salt")
MAP_START, MAP_END = "<!-- tests-map: start -->", "<!-- tests-map: end -->"

# tested only through other modules' tests, with no test file that names them (yet)
NOT_YET = {
    "_modules/maia_extmods.py",
    "_utils/maia_argocd_api.py",
    "_utils/maia_files.py",
    "_utils/maia_kube_client.py",
    "_utils/maia_kube_compare.py",
    "_utils/maia_kube_manifests.py",
    "_utils/maia_microk8s_paths.py",
    "src/maia_salt/addresses.py",
    "src/maia_salt/admin/specs.py",
    "src/maia_salt/admin/values.py",
    "src/maia_salt/checks.py",
    "src/maia_salt/cli_backup.py",
    "src/maia_salt/cli_drift.py",
    "src/maia_salt/cluster_guard.py",
    "src/maia_salt/configure_checks.py",
    "src/maia_salt/configure_files.py",
    "src/maia_salt/configure_values.py",
    "src/maia_salt/core/values.py",
    "src/maia_salt/core/values_apps.py",
    "src/maia_salt/core/values_common.py",
    "src/maia_salt/files.py",
    "src/maia_salt/flags.py",
    "src/maia_salt/inventory_diff.py",
    "src/maia_salt/loader.py",
    "src/maia_salt/registry_credentials.py",
    "src/maia_salt/runlog.py",
    "src/maia_salt/saltrun.py",
    "src/maia_salt/state_render.py",
    "src/maia_salt/terminal.py",
}


def product_modules() -> list[str]:
    found = []
    for folder in PRODUCT_FOLDERS:
        found += [p.relative_to(REPO).as_posix() for p in (REPO / folder).rglob("*.py")
                  if p.name not in ("__init__.py", "__main__.py") and "__pycache__" not in p.parts]
    return sorted(found)


def all_test_files() -> list[str]:
    return sorted(p.relative_to(REPO).as_posix() for root in ("tests", "lab/tests")
                  for p in (REPO / root).rglob("test_*.py"))


def named_after(module: str, tests: list[str]) -> list[str]:
    stem = Path(module).stem
    return [t for t in tests if Path(t).stem == f"test_{stem}" or Path(t).stem.startswith(f"test_{stem}_")]


def docs_tests_map() -> dict[str, list[str]]:
    text = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    table = text.split(MAP_START, 1)[1].split(MAP_END, 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = re.findall(r"`([^`]+)`", cells[1])
    return rows


def names_module(module: str, text: str) -> bool:
    """Whether a test's text names ``module``: its import path (``maia_salt.a.b``, ``from
    maia_salt.a import b``), or for a Salt module (loaded by Salt, called by name) its name."""
    path = Path(module).with_suffix("")
    if module.startswith("src/"):
        dotted = ".".join(path.parts[1:])
        package, name = dotted.rsplit(".", 1)
        return bool(re.search(rf"\b{re.escape(dotted)}\b", text)
                    or re.search(rf"from {re.escape(package)} import \(?[^)\n]*\b{name}\b", text))
    return re.search(rf"\b{re.escape(path.name)}\b", text) is not None


def test_every_product_module_has_tests_found_by_its_path():
    tests, mapped = all_test_files(), docs_tests_map()
    missing = [m for m in product_modules() if m not in NOT_YET and not named_after(m, tests) and m not in mapped]
    assert missing == [], f"no test_<name>.py and no row in docs/development.md's tests map: {missing}"


def test_the_map_names_existing_tests_that_name_the_module():
    tests, modules = all_test_files(), set(product_modules())
    wrong = []
    for module, files in docs_tests_map().items():
        if module not in modules:
            wrong.append(f"{module}: no such product module")
        elif named_after(module, tests):
            wrong.append(f"{module}: has {named_after(module, tests)}; drop its row")
        elif not files:
            wrong.append(f"{module}: no test file")
        for name in files:
            if name not in tests:
                wrong.append(f"{module}: {name} is not a test file")
            elif not names_module(module, (REPO / name).read_text(encoding="utf-8")):
                wrong.append(f"{module}: {name} does not name it")
    assert wrong == []


def test_not_yet_lists_only_modules_still_without_tests():
    tests, mapped, modules = all_test_files(), docs_tests_map(), set(product_modules())
    stale = sorted(m for m in NOT_YET if m not in modules or named_after(m, tests) or m in mapped)
    assert stale == [], f"remove from NOT_YET (gone, or its tests are found now): {stale}"
