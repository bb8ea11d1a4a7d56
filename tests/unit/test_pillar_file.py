"""--pillar-file PATH (or - for standard input): extra pillar that never shows in the process list."""
import pytest
from click.testing import CliRunner

from maia_salt import cli


class _Report:
    ok = True
    results = []  # the --test plan lists none

    def render(self):
        return "report"


@pytest.fixture
def given(monkeypatch, tmp_path):
    """The run is recorded, not started; -c names a Salt configuration folder (it holds `master`)
    and the site checks before an install are left out (tests/unit/test_cli_checks.py covers them)."""
    seen = {}
    (tmp_path / "master").write_text("{}\n")
    monkeypatch.setattr(cli, "_site_checked", lambda salt_config, extra: [])
    monkeypatch.setattr(cli, "_absent", lambda *args, **kw: [])

    def fake_run(run, *args, **kw):
        seen.update(kw)
        return _Report()

    monkeypatch.setattr(cli, "run_with_progress", fake_run)
    return seen


@pytest.mark.parametrize("command", [["install"], ["preflight"], ["reset", "--test"], ["remove-host", "n1", "--test"],
                                     ["drift"]])
def test_pillar_from_standard_input_with_pillar_over_it(tmp_path, given, command):
    secret = '{"maia": {"registry": {"password": "from-stdin-secret"}, "prepare": {"ufw": true}}}'
    result = CliRunner().invoke(cli.main, [*command, "-c", str(tmp_path), "--pillar-file", "-",
                                           "--pillar", '{"maia": {"prepare": {"ufw": false}}}'], input=secret)
    assert result.exit_code == 0, result.output
    assert given["pillar"] == {"maia": {"registry": {"password": "from-stdin-secret"}, "prepare": {"ufw": False}}}


def test_pillar_from_a_yaml_file(tmp_path, given):
    path = tmp_path / "secret-pillar.yaml"
    path.write_text("maia:\n  registry:\n    password: from-file-secret\n")
    result = CliRunner().invoke(cli.main, ["install", "-c", str(tmp_path), "--pillar-file", str(path)])
    assert result.exit_code == 0, result.output
    assert given["pillar"] == {"maia": {"registry": {"password": "from-file-secret"}}}


@pytest.mark.parametrize("text,says", [("maia: [unclosed", "not JSON or YAML"), ("- a list", "must hold a mapping")])
def test_a_bad_pillar_file_runs_nothing(tmp_path, given, text, says):
    result = CliRunner().invoke(cli.main, ["install", "-c", str(tmp_path), "--pillar-file", "-"], input=text)
    assert result.exit_code == 2 and says in result.output and given == {}
