"""Every command-line example of README.md and docs/ runs as written (support/doc_commands.py).

Here, on this machine: the ``salt-call`` examples (real ``salt-call --local``
with the ``maia`` ext_pillar on a site made by ``maia-configure``), the
``maia-configure``/``maia roster`` examples, the stand-in servers' options, and
the paths of the pytest and bench examples. The ``salt-run``/``salt-ssh``/``salt``
and ``maia install`` examples run on the lab (tests/e2e/test_documented_commands.py).

STAND-INS (docs/standins.md): the Kubernetes API (``maia_lab.standins.kube_api``)
and the ArgoCD application controller (``maia_lab.standins.argocd_controller``)
answer the ``salt-call`` examples that talk to a cluster; ArgoCD's CRDs come from
the generated install manifest (``support.argocd_manifest``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import argocd_manifest
from support.doc_commands import REPO, DocCommand, by_kind, documented_commands
from support.extmods import sync_all
from support.install_output import assert_quiet
from support.site import make_site
from support.paths import BIN
from support.minion import SKIP_MACHINE_GRAINS

KNOWN_KINDS = {"salt-call", "configure", "lab", "lab-cli", "day2", "standin", "pytest", "bench", "setup"}
# `salt-call --local state.apply maia[.k8s]` changes the host it runs on: it runs in a lab host
ON_A_LAB_HOST = re.compile(r"^salt-call --local state\.apply maia(\.k8s)?$")


def test_every_documented_command_has_a_runner():
    commands = documented_commands()
    assert len(commands) > 50  # the extraction found the examples
    unknown = [str(c) for c in commands if c.kind not in KNOWN_KINDS]
    assert unknown == [], "documented commands no test runs: " + "; ".join(unknown)


def _run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=REPO, **kwargs)


def test_setup_examples_do_what_they_say(tmp_path):
    """The setup examples (make, git clone, activate, export, cd), each checked for real here;
    .ci/run itself runs `make setup`, `make test` and `make demo` from a bare copy."""
    commands = {c.text for c in by_kind("setup")}
    checked = set()
    for text in sorted(commands):
        if text == "make setup":
            # the Debian packages are there (the target installs only what is missing) and the venv
            # is up to date with setup.py and lab/setup.py (make -q: nothing left to do)
            assert _run(["make", "system-deps"]).returncode == 0
            assert _run(["make", "-q", ".venv/.installed"]).returncode == 0, "make setup would reinstall .venv"
            for package in ("maia_salt", "maia_lab"):
                assert _run([sys.executable, "-c", f"import {package}"]).returncode == 0, package
        elif text == "make test":
            # the target runs (setup first, then pytest) and collects the stand-ins' tests too
            proc = _run(["make", "test", "PYTEST_ARGS=--collect-only -q -p no:cacheprovider"])
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
            assert "lab/tests/standins/" in proc.stdout and "tests/unit/" in proc.stdout
        elif text == "make demo":
            dry = _run(["make", "-n", "demo"])
            assert dry.returncode == 0 and ".venv/bin/maia demo" in dry.stdout
            assert _run([str(BIN / "maia"), "demo", "--help"]).returncode == 0
        elif text == ". .venv/bin/activate":
            proc = _run(["bash", "-c", ". .venv/bin/activate && command -v maia maia-configure salt-call"])
            assert proc.returncode == 0 and all(line.startswith(str(REPO / ".venv" / "bin"))
                                                for line in proc.stdout.split()), proc.stdout
        elif text.startswith("git clone <this repository> maia-salt"):
            if _run(["git", "rev-parse", "--is-inside-work-tree"]).returncode != 0:
                pytest.skip("not a git checkout: nothing to clone")  # .ci/run's copy is a git checkout too
            clone = tmp_path / "maia-salt"
            assert _run(["git", "clone", "--quiet", str(REPO), str(clone)]).returncode == 0
            assert re.search(r"^setup:", (clone / "Makefile").read_text(), re.M)
        elif text.startswith("export "):
            # every variable exported is one maia-configure reads
            names = re.findall(r"\b([A-Z_]+)=", text)
            source = "".join(f.read_text() for f in (REPO / "src" / "maia_salt").glob("configure*.py"))
            assert names and [n for n in names if f'"{n}"' not in source] == []
        elif text == 'cd "$(maia lab path)"':
            proc = _run([str(BIN / "maia"), "lab", "path"])
            assert proc.returncode == 0 and proc.stdout.strip().startswith("/"), proc.stdout + proc.stderr
        else:
            continue
        checked.add(text)
    assert checked == commands, f"setup examples no check covers: {sorted(commands - checked)}"


def test_pytest_examples_name_existing_tests():
    commands = by_kind("pytest")
    assert commands
    for command in commands:
        paths = [a for a in command.program_argv if a.startswith(("tests/", "lab/tests/"))]
        assert paths, str(command)
        for path in paths:
            assert (REPO / path.split("::")[0]).exists(), f"{command}: {path} does not exist"


def test_bench_examples_accept_their_options():
    for command in by_kind("bench"):
        argv = command.program_argv
        script = REPO / argv[1]
        assert script.is_file(), str(command)
        helptext = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                                  timeout=120, cwd=REPO).stdout
        for option in (a.split("=")[0] for a in argv[2:] if a.startswith("--")):
            assert option in helptext, f"{command}: {option} is not an option of {argv[1]}"


def test_standin_examples_accept_their_options():
    commands = by_kind("standin")
    assert commands
    for command in commands:
        argv = command.program_argv
        helptext = subprocess.run([sys.executable, "-m", argv[2], "--help"], capture_output=True, text=True,
                                  timeout=120).stdout
        options = set(re.findall(r"(--[a-z][a-z-]*)", " ".join(argv[3:])))
        assert options, str(command)
        missing = sorted(o for o in options if o not in helptext)
        assert missing == [], f"{command}: not accepted: {missing}"


def test_day2_examples_name_real_options_and_pillar_keys():
    """`maia reset` / `maia remove-host` (and their orchestrations) take a site apart; the lab runs
    the same operations in tests/e2e/test_day2_*.py. Here: every documented option is one the
    command accepts, and every pillar key one the orchestration reads."""
    commands = by_kind("day2")
    assert commands
    for command in commands:
        argv = command.program_argv
        if argv[0] == "maia":
            helptext = subprocess.run([str(BIN / "maia"), argv[1], "--help"], capture_output=True, text=True,
                                      timeout=120).stdout
            for option in (a for a in argv[2:] if a.startswith("--")):
                assert option in helptext, f"{command}: {option} is not an option of maia {argv[1]}"
            continue
        sls = next(a for a in argv if a.startswith("orch."))
        text = (REPO / "orch" / (sls.split(".", 1)[1] + ".sls")).read_text()
        pillar = json.loads(next(a for a in argv if a.startswith("pillar=")).split("=", 1)[1])
        for key in pillar["maia"]:  # e.g. maia:reset, maia:remove_host
            assert re.search(rf"maia:{key}\b|\b{key}\b", text), f"{command}: {sls} does not read maia:{key}"


# ------------------------------------------------------------------ maia-configure, maia roster

def _configure_argv(command, workdir: Path, config_folder: Path) -> list[str]:
    argv = []
    for arg in command.program_argv:
        if arg == "[path/to/env.json]":  # a re-run on the site's own env.json
            arg = str(config_folder / "env.json")
        elif arg == "/opt/maia/config":
            arg = str(config_folder)
        elif arg == "$CONFIG_FOLDER":
            arg = str(config_folder)
        argv.append(arg)
    return [str(BIN / argv[0]), *argv[1:]]


def test_configure_examples(tmp_path):
    """Each maia-configure / maia roster example, in order, in a folder holding the
    Ansible collection's inventory.ini and host_vars (as a migrating admin has)."""
    work = tmp_path / "work"
    shutil.copytree(REPO / "tests" / "data" / "ansible" / "host_vars", work / "host_vars")
    shutil.copy(REPO / "tests" / "data" / "ansible" / "inventory", work / "inventory.ini")
    config_folder = tmp_path / "config"
    env = {**os.environ, "CLUSTER_DOMAIN": "maia.docs.test", "CLUSTER_NAME": "docs", "CONFIG_FOLDER": str(config_folder),
           "INGRESS_RESOLVER_EMAIL": "admin@docs.test", "K8S_DISTRIBUTION": "microk8s", "MAIA_PRIVATE_REGISTRY": ""}
    commands = by_kind("configure")
    assert commands
    # the non-interactive ones first: the others re-run on the folder they write
    commands.sort(key=lambda c: "--non-interactive" not in c.text)
    for command in commands:
        argv = _configure_argv(command, work, config_folder)
        proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"{command}:\n{proc.stdout}\n{proc.stderr}"
        assert_quiet(proc.stdout + proc.stderr)  # maia validate loads Salt: its warnings go to the log file
    assert (config_folder / "env.json").is_file() and (config_folder / "inventory.yaml").is_file()
    roster = yaml.safe_load((work / "roster").read_text())
    assert set(roster) == {"maia-node-0", "maia-node-1", "maia-node-2"}


# ------------------------------------------------------------------ salt-call --local

@pytest.fixture(scope="module")
def salt_call_site(tmp_path_factory):
    """A control-plane minion config (salt-call --local) on a maia-configure site, talking to
    the Kubernetes API stand-in with ArgoCD's CRDs and the controller stand-in."""
    from kubernetes import config, dynamic

    from maia_lab.standins.argocd_controller import ArgoCDControllerStandin
    from maia_lab.standins.kube_api import KubeApiStandin

    root = tmp_path_factory.mktemp("doc-salt-call")
    site = make_site(root / "config")
    with KubeApiStandin() as api:
        dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=api.kubeconfig))
        for doc in argocd_manifest.crds():
            dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind=doc["kind"]).create(body=doc)
        dyn.resources.get(api_version="v1", kind="Namespace").create(
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
        deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
        deployments.create(namespace="kube-system", body={  # what `restart_pending ... coredns` restarts
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                     "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}},
                                  "spec": {"containers": [{"name": "coredns", "image": "example/coredns:1"}]}}}})
        # site pillar over the ext_pillar (ext_pillar_first): this API, and stand-in sync timings
        (root / "pillar").mkdir()
        (root / "pillar" / "top.sls").write_text("base:\n  '*': [site]\n")
        (root / "pillar" / "site.sls").write_text(yaml.safe_dump({"maia": {
            "kubeconfig": api.kubeconfig,
            "core": {"sync": {"interval": 0.5, "timeout": 90, "retry_interval": 1}}}}))
        conf = root / "conf"
        conf.mkdir()
        (conf / "minion").write_text(yaml.safe_dump({
            "id": "maia-node-0", "file_client": "local", **SKIP_MACHINE_GRAINS, "root_dir": str(root / "salt"),
            "file_roots": {"base": [str(REPO / "formulas")]},
            "pillar_roots": {"base": [str(root / "pillar")]},
            "ext_pillar": [{"maia": {"config_folder": str(site)}}], "ext_pillar_first": True,
            "log_file": str(root / "minion.log"), "log_level_logfile": "info"}))
        sync_all(conf)  # maia's modules and states come from file_roots, as on any host
        with ArgoCDControllerStandin(api.kubeconfig, namespace="argocd", interval=0.2, sync_seconds=0.2,
                                     progress_seconds=0.2):
            yield conf, dyn


def _salt_call_argv(command, conf: Path, spec_json: str) -> list[str]:
    manifest, sha256 = argocd_manifest.manifest()
    substitutes = {
        "PASSWORD": "doc-test-password",
        "<trigger>": "doc-test-trigger",
        "{...spec...}": spec_json,
        "/srv/argocd-install.yaml": str(manifest),
        "sha256=795a3a97...": f"sha256={sha256}",
    }
    argv = [substitutes.get(a, a) for a in command.program_argv[1:] if a != "--local"]
    return [str(BIN / "salt-call"), "--local", "-c", str(conf), "--out", "json", "--retcode-passthrough", *argv]


def test_salt_call_examples(salt_call_site):
    conf, dyn = salt_call_site
    commands = list({c.text: c for c in by_kind("salt-call") if not ON_A_LAB_HOST.match(c.text)}.values())
    assert len(commands) > 15
    # the state runs first: the argocd.* examples look at the Applications they make
    commands.sort(key=lambda c: "state.apply" not in c.text)
    loki = subprocess.run(_salt_call_argv(DocCommand("", 0, "salt-call maia_core.application loki"), conf, ""),
                          capture_output=True, text=True, timeout=300)
    assert loki.returncode == 0, loki.stdout + loki.stderr
    spec_json = json.dumps(json.loads(loki.stdout)["local"]["spec"])
    failures = []
    for command in commands:
        proc = subprocess.run(_salt_call_argv(command, conf, spec_json), capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            failures.append(f"{command}: rc {proc.returncode}\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
            continue
        assert json.loads(proc.stdout)["local"] is not None, str(command)
    assert failures == [], "\n\n".join(failures)
    apps = dyn.resources.get(api_version="argoproj.io/v1alpha1", kind="Application").get(namespace="argocd")
    assert "maia-core-loki" in {a.metadata.name for a in apps.items}
