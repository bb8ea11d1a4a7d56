"""Per-site pillar from a git repository (git_pillar with pygit2) on top of the maia ext_pillar.

A local bare repository (file:// URL) holds two sites in folders; the master
reads `sites/site-a`. A commit that turns UFW off reaches the minion after
`git_pillar.update` and a pillar refresh. Real salt-master and salt-minion
(pytest-salt-factories), real pygit2.
"""
import subprocess

import pytest
import yaml

from support.site import make_site
from support.minion import SKIP_MACHINE_GRAINS


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"})


def write_site(work, site, prepare):
    folder = work / "sites" / site
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "top.sls").write_text("base:\n  '*':\n    - maia\n")
    (folder / "maia.sls").write_text(yaml.safe_dump({"maia": {"prepare": prepare, "site_name": site}}))


@pytest.fixture(scope="module")
def site_repo(tmp_path_factory):
    base = tmp_path_factory.mktemp("gitpillar")
    bare = base / "sites.git"
    work = base / "work"
    git("init", "--bare", "-b", "main", str(bare), cwd=base)
    git("clone", str(bare), str(work), cwd=base)
    write_site(work, "site-a", {"cifs": False})
    write_site(work, "site-b", {"nvidia_drivers": False})
    git("add", "-A", cwd=work)
    git("commit", "-m", "two sites", cwd=work)
    git("push", "origin", "HEAD:main", cwd=work)
    return bare, work


@pytest.fixture(scope="module")
def git_master(salt_factories, site_repo, tmp_path_factory):
    bare, _ = site_repo
    config = make_site(tmp_path_factory.mktemp("gp-site") / "config")
    overrides = {
        "ext_pillar": [
            {"maia": {"config_folder": str(config)}},
            {"git": [{f"main file://{bare}": [{"root": "sites/site-a"}, {"env": "base"}]}]},
        ],
        "git_pillar_provider": "pygit2",
        "git_pillar_update_interval": 3600,
        **SKIP_MACHINE_GRAINS,
    }
    factory = salt_factories.salt_master_daemon("maia-gp-master", overrides=overrides)
    with factory.started():
        yield factory


@pytest.fixture(scope="module")
def gp_minion(git_master):
    factory = git_master.salt_minion_daemon("maia-node-1", overrides=SKIP_MACHINE_GRAINS)
    with factory.started():
        yield factory


def prepare_flags(git_master, minion):
    ret = git_master.salt_cli(timeout=120).run("pillar.items", "unmask=True", minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    assert not ret.data.get("_errors"), ret.data.get("_errors")
    return ret.data["maia"]


def test_site_override_and_update(git_master, gp_minion, site_repo):
    maia = prepare_flags(git_master, gp_minion)
    assert maia["site_name"] == "site-a"
    assert maia["prepare"]["cifs"] is False                # from the site's git pillar
    assert "nvidia_drivers" not in maia["prepare"]         # site-b's override does not leak
    assert maia["roles"] == ["nfs_clients"]                # the maia ext_pillar still maps the inventory

    _, work = site_repo
    write_site(work, "site-a", {"cifs": False, "ufw": False})
    git("commit", "-am", "site-a: UFW managed elsewhere", cwd=work)
    git("push", "origin", "HEAD:main", cwd=work)

    ret = git_master.salt_run_cli(timeout=120).run("git_pillar.update")
    assert ret.returncode == 0, ret
    maia = prepare_flags(git_master, gp_minion)
    assert maia["prepare"]["ufw"] is False and maia["prepare"]["cifs"] is False
