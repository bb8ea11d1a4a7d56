"""bench/ansible_compare.py, the pure parts: what the collection needs to run, the files of a
playbook run, the recap, the ratios within a round and over rounds, and the missing-collection
path (the comparison is "not measured" with its reason, no lab is started, nothing fails)."""
import sys

from support.paths import REPO

sys.path.insert(0, str(REPO / "bench"))
import ansible_compare as ac  # noqa: E402


def collection(tmp_path, galaxy="namespace: maia\nname: installation\n"):
    folder = tmp_path / "Installation"
    (folder / "playbooks").mkdir(parents=True)
    (folder / "playbooks" / "prepare_hosts.yaml").write_text("- hosts: all\n")
    (folder / "roles" / "ufw" / "tasks").mkdir(parents=True)
    if galaxy is not None:
        (folder / "galaxy.yml").write_text(galaxy)
    return folder


def test_collection_problem_names_what_is_missing(tmp_path):
    assert "MAIA_ANSIBLE_COLLECTION is not set" in ac.collection_problem(None)
    assert "no such folder" in ac.collection_problem(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    assert "no playbooks/prepare_hosts.yaml" in ac.collection_problem(str(tmp_path / "empty"))
    assert ac.collection_problem(str(collection(tmp_path))) is None


def test_missing_collection_is_not_measured_and_installs_nothing(tmp_path):
    got = ac.setup({}, str(tmp_path / "cache"))
    assert got == {"measured": False, "reason": "MAIA_ANSIBLE_COLLECTION is not set (the collection's "
                                                "ansible/MAIA/Installation folder)"}
    assert not (tmp_path / "cache").exists()


def test_missing_ansible_is_not_measured_with_its_reason(tmp_path):
    folder = collection(tmp_path)
    got = ac.setup({ac.ENV: str(folder)}, str(tmp_path / "cache"), install=False)
    assert got["measured"] is False
    assert got["reason"] == f"Ansible is not installed in {ac.venv_dir(str(tmp_path / 'cache'))}"


def test_collection_name_from_galaxy_yml(tmp_path):
    assert ac.collection_name(collection(tmp_path, "namespace: acme\nname: setup\n")) == ("acme", "setup")
    assert ac.collection_name(collection(tmp_path / "b", galaxy=None)) == ("maia", "installation")


def test_workdir_links_the_collection_and_writes_the_inventory(tmp_path):
    folder = collection(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    inventory = ac.workdir_for(str(folder), work, [("maia-node-0", "198.18.0.11"), ("maia-node-1", "198.18.0.12")],
                               "/lab/id_ed25519", "/lab/known_hosts")
    link = work / "collections" / "ansible_collections" / "maia" / "installation"
    assert link.resolve() == folder.resolve()
    assert (link / "playbooks" / "prepare_hosts.yaml").is_file()
    text = inventory.read_text()
    assert "maia-node-0 ansible_host=198.18.0.11" in text
    assert "[control-plane]\nmaia-node-0\n" in text and "[nfs_clients]\nmaia-node-1\n" in text
    assert "ansible_ssh_private_key_file=/lab/id_ed25519" in text
    assert "UserKnownHostsFile=/lab/known_hosts -o StrictHostKeyChecking=yes" in text
    # laid out again for the second run: the link is kept, not an error
    ac.workdir_for(str(folder), work, [("maia-node-0", "198.18.0.11")], "/k", "/kh")


def test_playbook_command_runs_the_issue_setup(tmp_path):
    argv, env = ac.playbook_command({"venv": "/v", "collection": "/c"}, tmp_path, tmp_path / "inventory.ini")
    assert argv[0] == "/v/bin/ansible-playbook" and argv[-1] == "/c/playbooks/prepare_hosts.yaml"
    extra = argv[argv.index("-e") + 1]
    assert '"ufw": true' in extra and '"nfs": false' in extra and '"nvidia_drivers": false' in extra
    assert env["ANSIBLE_FORKS"] == "10" and env["ANSIBLE_PIPELINING"] == "True"
    assert env["ANSIBLE_COLLECTIONS_PATH"] == str(tmp_path / "collections")
    assert env["ANSIBLE_CONFIG"] == str(tmp_path / "ansible.cfg")


RECAP = """\
TASK [maia.installation.ufw : Allow additional ports] ***************************
skipping: [maia-node-0]

PLAY RECAP *********************************************************************
maia-node-0                : ok=5    changed=3    unreachable=0    failed=0    skipped=17   rescued=0    ignored=0
maia-node-1                : ok=5    changed=0    unreachable=0    failed=1    skipped=17   rescued=0    ignored=0
"""


def test_recap_counts_per_host():
    counts = ac.recap(RECAP)
    assert counts["maia-node-0"] == {"ok": 5, "changed": 3, "unreachable": 0, "failed": 0, "skipped": 17,
                                     "rescued": 0, "ignored": 0}
    assert counts["maia-node-1"]["failed"] == 1
    assert not ac.recap_ok(counts, 2)  # a failed host
    assert not ac.recap_ok({"maia-node-0": counts["maia-node-0"]}, 3)  # hosts missing from the recap
    assert ac.recap_ok({"maia-node-0": counts["maia-node-0"]}, 1)
    assert ac.recap("no recap here\nmaia-node-0 : ok=1") == {}


def test_spare_gateway_is_in_the_lab_slice_and_no_host_address():
    assert ac.spare_gateway("198.18.0.33") == "198.18.0.34"


def run(label, seconds, ok=True):
    return {"run": label, "seconds": seconds, "ok": ok}


def a_round(ansible, minions, ssh):
    return {side: {"runs": [run("prepare first", first, ok), run("prepare second", second, ok)]}
            for side, (first, second, ok) in (("ansible", ansible), ("minions", minions), ("ssh", ssh))}


def test_ratio_is_the_collection_time_over_ours_and_none_unless_both_ran():
    assert ac.ratio(run("x", 10.0), run("x", 4.0)) == 2.5
    assert ac.ratio(run("x", 10.0, ok=False), run("x", 4.0)) is None
    assert ac.ratio(run("x", 10.0), run("x", 4.0, ok=False)) is None
    assert ac.ratio(None, run("x", 4.0)) is None


def test_ratios_are_taken_within_each_round():
    rounds = [a_round((10.0, 8.0, True), (5.0, 2.0, True), (8.0, 4.0, True)),
              a_round((14.0, 9.0, True), (4.0, 3.0, True), (8.0, 3.0, True)),
              a_round((9.0, 9.0, True), (6.0, 1.5, True), (9.0, 9.0, False))]
    assert ac.round_ratios(rounds[0]) == {"minions": {"prepare first": 2.0, "prepare second": 4.0},
                                          "ssh": {"prepare first": 1.25, "prepare second": 2.0}}
    got = ac.summary(rounds)
    assert got["minions"]["prepare first"] == {"ratios": [2.0, 3.5, 1.5], "n": 3, "median": 2.0, "min": 1.5, "max": 3.5}
    assert got["minions"]["prepare second"]["median"] == 4.0
    # the failed salt-ssh round counts for nothing
    assert got["ssh"]["prepare first"]["ratios"] == [1.25, 1.75] and got["ssh"]["prepare first"]["median"] == 1.5
    assert ac.side_seconds(rounds, "ssh", "prepare first") == [8.0, 8.0]
    assert ac.summary([])["minions"]["prepare first"]["median"] is None


def test_render_says_why_the_comparison_is_not_measured():
    text = "\n".join(ac.render({"measured": False, "reason": "MAIA_ANSIBLE_COLLECTION is not set"}))
    assert "Not measured: MAIA_ANSIBLE_COLLECTION is not set." in text
    assert "ratio targets above are not measured" in text


def test_render_shows_each_round_and_the_ratios():
    comparison = {"measured": True, "collection": "/c", "ansible": "ansible-playbook [core 2.19.14]",
                  "pins": "ansible==12.3.0", "venv": "/v",
                  "rounds": [dict(a_round((10.0, 8.0, True), (5.0, 2.0, True), (8.0, 4.0, True)), round=1)]}
    comparison["rounds"][0]["minions"]["runs"][1]["cpu_s"] = {"host_mean": 0.4, "master": 0.5, "controller": 0.75}
    rows = [line for line in ac.render(comparison) if line.startswith("| 1 |")]
    assert rows[0].startswith("| 1 | collection | 10.0 s | 8.0 s |") and rows[0].endswith("| 1x |")
    # with minions the salt-master's CPU counts on the controller side
    assert "| 0.4 s | 1.25 s | 2.0x / 4.0x |" in rows[1]
    assert rows[1].endswith("| 2.0x / 4.0x |") and rows[2].endswith("| 1.25x / 2.0x |")


def test_render_marks_a_failed_side():
    rnd = dict(a_round((10.0, 8.0, True), (5.0, 2.0, False), (8.0, 4.0, True)), round=1)
    rows = [line for line in ac.render({"measured": True, "collection": "/c", "ansible": "a", "pins": "p",
                                        "venv": "/v", "rounds": [rnd]}) if line.startswith("| 1 | minions")]
    assert "FAILED after 5.0 s" in rows[0] and rows[0].endswith("| - / - |")
