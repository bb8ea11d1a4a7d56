"""maia-salt's own block in a file someone else owns (_utils/maia_marked_block.py): MicroK8s'
containerd-env keeps its lines, the block is replaced as a whole and removed with its markers."""
import sys

from support.paths import REPO

sys.path.insert(0, str(REPO / "_utils"))
import maia_marked_block as block  # noqa: E402

TAG = "maia-salt (test)"
SHIPPED = "# HTTPS_PROXY=http://username:password@proxy:port/\nulimit -n 65536 || true\n"


def test_appended_replaced_in_place_then_removed_with_its_markers():
    assert block.block_of(SHIPPED, TAG) is None
    once = block.with_block(SHIPPED, TAG, ["HTTPS_PROXY=http://10.0.0.1:3130"])
    assert once == SHIPPED + "# BEGIN maia-salt (test)\nHTTPS_PROXY=http://10.0.0.1:3130\n# END maia-salt (test)\n"
    assert block.block_of(once, TAG) == ["HTTPS_PROXY=http://10.0.0.1:3130"]
    # a line the admin adds after the block stays after it when the block changes
    edited = once + "ulimit -l 16384 || true\n"
    twice = block.with_block(edited, TAG, ["A=1", "B=2"])
    assert twice.splitlines() == [*SHIPPED.splitlines(), "# BEGIN maia-salt (test)", "A=1", "B=2",
                                  "# END maia-salt (test)", "ulimit -l 16384 || true"]
    assert block.with_block(twice, TAG, []) == SHIPPED + "ulimit -l 16384 || true\n"
    assert block.with_block(SHIPPED, TAG, []) == SHIPPED


def test_a_block_without_its_end_marker_is_no_block():
    broken = SHIPPED + "# BEGIN maia-salt (test)\nA=1\n"
    assert block.block_of(broken, TAG) is None
    # appended whole; the stray line stays as the admin's
    assert block.block_of(block.with_block(broken, TAG, ["A=2"]), TAG) == ["A=2"]
