"""The host-side writer of the exported kubeconfig and CA (``_states/maia_microk8s.py``):
a private temporary file, never a name someone could plant a symlink at."""
import os
import stat

from support.modules import load_salt_module


def _states():
    salt = {"file.get_mode": lambda path: oct(stat.S_IMODE(os.stat(path).st_mode))[2:].zfill(4)}
    return load_salt_module("_states/maia_microk8s.py", "_unit_maia_microk8s_states", salt=salt)


def test_export_does_not_write_through_a_planted_symlink(tmp_path):
    """A local user who can write in the export folder plants symlinks at the names a writer
    might use for its temporary file; the export writes its own file, 0600, and nothing else."""
    states = _states()
    source = tmp_path / "ca.crt"
    source.write_text("CA-CONTENT\n")
    folder = tmp_path / "config"
    folder.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    victim.chmod(0o644)
    os.symlink(victim, folder / "ca.crt.maia-tmp")

    ret = states.file_exported(str(folder / "ca.crt"), str(source))
    assert ret["result"] is True and ret["changes"], ret
    assert victim.read_text() == "untouched\n" and stat.S_IMODE(victim.stat().st_mode) == 0o644  # nor chmodded
    assert (folder / "ca.crt").read_text() == "CA-CONTENT\n"
    assert not (folder / "ca.crt").is_symlink()
    assert stat.S_IMODE((folder / "ca.crt").stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["ca.crt", "ca.crt.maia-tmp"]  # no temporary file left

    again = states.file_exported(str(folder / "ca.crt"), str(source))
    assert again["result"] is True and again["changes"] == {}
