"""maia_salt.converged: orch.maia's record of its last finished run (written by the state
maia_orch.converged_recorded, read by orch/steps.jinja's converged_record)."""
import stat

import pytest

from maia_salt import converged


def test_the_record_holds_the_digest_for_its_owner_only(tmp_path):
    digest = "0a" * 32
    path = converged.record(str(tmp_path), digest + "\n")
    assert path == str(tmp_path / "maia-salt" / "converged.sha256")
    assert (tmp_path / "maia-salt" / "converged.sha256").read_text() == digest + "\n"
    assert stat.S_IMODE((tmp_path / "maia-salt" / "converged.sha256").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "maia-salt").stat().st_mode) == 0o700
    converged.record(str(tmp_path), "1b" * 32)  # replaced, no part file left
    assert [p.name for p in (tmp_path / "maia-salt").iterdir()] == ["converged.sha256"]


@pytest.mark.parametrize("bad", ["", "$(true)", "0a" * 31, "0A" * 32, "0a" * 32 + "\nrm -rf /"])
def test_anything_but_a_digest_is_refused_and_nothing_written(tmp_path, bad):
    with pytest.raises(ValueError, match="not a sha256 digest"):
        converged.record(str(tmp_path), bad)
    assert not (tmp_path / "maia-salt" / "converged.sha256").exists()
