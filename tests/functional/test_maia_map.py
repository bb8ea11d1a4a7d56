"""``maia_map.data`` (``_modules/maia_map.py`` over ``maia_salt.map_memo``): a stage's map is
rendered once per state run, however many of the stage's SLS files import it.

The test formula ``tests/data/formulas/memo`` imports its map from three SLS files; its
``mapdata.jinja`` appends a line to the file pillar ``maia:marks`` names each time it is
rendered. Here with real ``salt-call --local`` (the host module as ``saltutil.sync_all`` syncs
it); over salt-ssh (``_wrapper/maia_map.py``, on the master) in
``test_ext_pillar.py::test_salt_ssh_pillar``, which shares that test's sshd and thin."""
import json

import pytest

from maia_salt.map_memo import template_for
from core.salt_local import salt_call, write_config
from support.paths import REPO

TEST_FORMULAS = REPO / "tests" / "data" / "formulas"


def rendered_names(data: dict) -> dict:
    """The ``name`` of each state of ``state.show_sls memo``: (its map's data, the minion id)."""
    names = {}
    for state_id, chunk in data.items():
        name = next(arg["name"] for arg in chunk["test"] if isinstance(arg, dict) and "name" in arg)
        value, seen = name.rsplit(" ", 1)
        names[state_id] = (json.loads(value), seen)
    return names


def test_three_sls_files_share_one_render_and_none_sees_another_ones_changes(tmp_path):
    marks = tmp_path / "marks"
    marks.write_text("")
    conf = write_config(tmp_path, {"name": "maia", "marks": str(marks)},
                        {"file_roots": {"base": [str(REPO / "formulas"), str(TEST_FORMULAS)]}})
    code, data, _, stderr = salt_call(conf, "state.show_sls", "memo")
    assert code == 0, stderr
    assert marks.read_text().split() == ["rendered"]  # one render for three importing files (without the memo: three)
    names = rendered_names(data)
    for sls in ("a", "b", "c"):
        assert names[f"memo-{sls}"] == ({"greeting": "hello maia", "items": [1, 2], "changed_by": sls}, "maia-node-0")


def test_a_path_or_name_that_would_change_the_template_is_refused():
    for path, names in (('memo/mapdata.jinja" import x %}{{ 1', ["mapdata"]), ("memo/mapdata.jinja", ["a }}"]),
                        ("", ["mapdata"]), ("memo/mapdata.jinja", [None])):
        with pytest.raises(ValueError, match="bad map path or variable name"):
            template_for(path, names)
    assert template_for("maia/k8s/mapdata.jinja", ["mapdata"]) == (
        '{%- from "maia/k8s/mapdata.jinja" import mapdata with context %}{{ {"mapdata": mapdata} | json }}')


def test_a_stage_is_asked_for_by_name_and_gets_every_variable_of_its_map(tmp_path):
    """``maia_map.stage``, what the product's SLS files call: the stage's whole variable set
    (one memo entry per stage), the same as ``maia_map.data`` with the stage's map and names."""
    conf = write_config(tmp_path, {"name": "maia"}, {"file_roots": {"base": [str(REPO / "formulas")]}})
    code, prepare, _, stderr = salt_call(conf, "maia_map.stage", "prepare")
    assert code == 0, stderr
    assert sorted(prepare) == ["maia", "mapdata"] and "ufw" in prepare["mapdata"]
    code, data, _, stderr = salt_call(conf, "maia_map.data", "maia/prepare/mapdata.jinja", '["mapdata", "maia"]')
    assert code == 0, stderr
    assert data == prepare
    code, _, stdout, stderr = salt_call(conf, "maia_map.stage", "nosuch")
    assert code != 0 and "unknown stage 'nosuch'" in stdout + stderr
