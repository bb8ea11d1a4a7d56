"""``maia_k8s_dist.archive_unpacked`` (rke2's release tarball unpacked into its install folder), as
plain Python with its Salt dunders: only the files that are missing or differ are written and named,
test mode predicts them and writes nothing, and a tarball with a member that leaves the folder or is
no file (a link) fails before anything is written. The whole formula runs on the rke2 stand-in in
tests/k8s/test_k8s_rke2.py."""
import io
import os
import tarfile

import pytest

from support.modules import load_salt_module


def tarball(path, members):
    """A gzip tarball of ``members``: name -> (bytes, mode), or name -> "link" for a symlink."""
    with tarfile.open(path, "w:gz") as tar:
        for name, value in members.items():
            info = tarfile.TarInfo(name)
            if value == "link":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
                tar.addfile(info)
                continue
            data, mode = value
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return str(path)


@pytest.fixture
def states():
    module = load_salt_module("_modules/maia_k8s_dist.py", "maia_k8s_dist_archive_mod")
    salt = {f"maia_k8s_dist.{fn}": getattr(module, fn) for fn in ("archive_differs", "archive_unpack")}
    return load_salt_module("_states/maia_k8s_dist.py", "maia_k8s_dist_archive_state", salt=salt)


RELEASE = {"bin/rke2": (b"#!/bin/sh\n", 0o755), "lib/systemd/system/rke2-server.service": (b"[Unit]\n", 0o644)}


def test_unpacks_only_what_differs_and_predicts_it(states, tmp_path):
    archive, dest = tarball(tmp_path / "rke2.tar.gz", RELEASE), tmp_path / "usr-local"
    states.__opts__["test"] = True
    ret = states.archive_unpacked(str(dest), archive)
    assert ret["result"] is None and ret["changes"]["files"]["new"] == sorted(RELEASE)
    assert not dest.exists()
    states.__opts__["test"] = False
    ret = states.archive_unpacked(str(dest), archive)
    assert ret["result"] is True and ret["changes"]["files"]["new"] == sorted(RELEASE)
    assert (dest / "bin/rke2").read_bytes() == b"#!/bin/sh\n" and os.stat(dest / "bin/rke2").st_mode & 0o777 == 0o755
    assert states.archive_unpacked(str(dest), archive)["changes"] == {}
    os.chmod(dest / "lib/systemd/system/rke2-server.service", 0o666)
    ret = states.archive_unpacked(str(dest), archive)
    assert ret["changes"]["files"]["new"] == ["lib/systemd/system/rke2-server.service"]
    assert os.stat(dest / "lib/systemd/system/rke2-server.service").st_mode & 0o777 == 0o644


@pytest.mark.parametrize("bad", ["dotdot", "absolute", "symlink"])
def test_a_member_that_leaves_the_folder_or_is_no_file_fails_before_anything_is_written(states, tmp_path, bad):
    # the absolute member points into tmp_path too, so that a broken check writes nothing elsewhere
    member = {"dotdot": {"../outside": (b"x", 0o644)}, "absolute": {f"{tmp_path}/outside": (b"x", 0o644)},
              "symlink": {"bin/rke2-link": "link"}}[bad]
    archive, dest = tarball(tmp_path / "rke2.tar.gz", {**RELEASE, **member}), tmp_path / "usr-local"
    ret = states.archive_unpacked(str(dest), archive)
    assert ret["result"] is False and ret["changes"] == {} and "nothing was unpacked" in ret["comment"]
    assert not dest.exists() and not (tmp_path / "outside").exists()


def test_a_missing_tarball_fails_and_test_mode_predicts_the_download(states, tmp_path):
    missing = str(tmp_path / "absent.tar.gz")
    assert states.archive_unpacked(str(tmp_path / "dest"), missing)["result"] is False
    states.__opts__["test"] = True
    assert states.archive_unpacked(str(tmp_path / "dest"), missing)["result"] is None
