"""orch.maia's own states on the master: the module sync that also runs under test=True, and the
record of a finished run.

Under ``test=True`` Salt's ``salt.runner`` state calls no runner (it answers "would be executed"),
so a dry run's stages would run with whatever extension modules the minions hold: none on a
fresh site (every state of maia-salt's own is then "not available" and stage 1 fails), the
previous release's after an upgrade (the plan then predicts what the old code would do). This
state calls the runner ``maia_orch.sync_minions`` (``_runners/maia_orch.py``) through Salt's
``saltutil.runner`` in both modes. Bringing maia-salt's own modules and the pillar up to date
changes nothing the site runs, so it reports no changes; its comment says what it synced.

``converged_recorded``: orch.maia's last step, after every other one: the digest of the run's
inputs, by which the next run with the same inputs runs one job per host (``maia_salt.converged``;
docs/orchestration.md). A file write in the orchestration's own process: a ``salt.runner`` step
cost 0.2-0.3 s of every run for it.

``site_checked``: the CONFIG_FOLDER check of the preflight, in a one-job run (which has no
preflight job: each host checks itself first, in its own job).

Master-side code, loaded in the master's orchestration only (``salt-run state.orch``), like
``maia_rancher``.
"""
from maia_salt import converged, runner_step, site_checks

__virtualname__ = "maia_orch"

RUNNER = "maia_orch.sync_minions"


def __virtual__():
    if __opts__.get("__role") != "master":
        return False, "maia_orch states run in the master's orchestration (salt-run state.orch) only"
    return __virtualname__


def minions_synced(name, tgt_type="compound", types=None, timeout=300):
    """
    maia-salt's extension modules of ``types`` and the pillar are current on the minions of
    ``name`` (a target), also under ``test=True``.

    name
        the minions (``tgt`` of the runner)
    tgt_type
        how ``name`` targets (default ``compound``)
    types
        the kinds of modules to sync (default: the runner's)
    """
    kwargs = {"tgt": name, "tgt_type": tgt_type, "timeout": timeout}
    if types:
        kwargs["types"] = types
    said, error = runner_step.call(__salt__, globals(), RUNNER, "synced", **kwargs)
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    if error:
        ret.update(result=False, comment=error)
        return ret
    synced = said["synced"]
    ret["comment"] = (f"modules and pillar synced on {', '.join(sorted(synced))}" if synced
                      else f"modules and pillar up to date on {said.get('minions', 0)} minion(s)")
    return ret


def converged_recorded(name, digest):
    """
    Record ``digest`` (the sha256 of this run's inputs, as orch.maia computes it) as the inputs of
    the last run that finished; ``name`` is the step's label. No change is reported: the record
    tells orch.maia how to run next, it changes nothing on the site. Under ``test=True`` nothing
    is written.
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    if __opts__.get("test"):
        ret["result"] = None
        ret["comment"] = "would record this run's inputs (the next run with the same inputs: one job per host)"
        return ret
    try:
        path = converged.record(__opts__["cachedir"], digest)
    except (ValueError, OSError) as exc:
        ret["result"] = False
        ret["comment"] = f"the record of this finished run was not written: {exc}"
        return ret
    ret["comment"] = f"recorded this run's inputs in {path}: the next run with the same inputs runs one job per host"
    return ret


def site_checked(name, lvm=True, admin=None):
    """
    The CONFIG_FOLDER ``name`` is complete, as the preflight runner checks it
    (``maia_salt.site_checks``): orch.maia's one-job run, which has no preflight job, checks it
    here before the hosts check themselves. ``lvm``: whether stage 1 creates the volumes
    (the inventory's storage settings are checked then); ``admin``: the admin stage's
    parameters when the run includes it (its secrets in env.json). Read-only: the same under
    ``test=True``, never a change.
    """
    found = site_checks.config_folder_findings(name, lvm_enabled=site_checks.truthy(lvm), admin=admin)
    errors = [f for f in found if f["level"] == "error"]
    ret = {"name": name, "changes": {}, "result": not errors, "comment": ""}
    if errors:
        ret["comment"] = f"the site's CONFIG_FOLDER has {len(errors)} problem(s): " + "; ".join(
            f"{f['message']} (fix: {f['fix']})" for f in errors)
    else:
        ret["comment"] = f"the CONFIG_FOLDER {name} is complete"
    return ret
