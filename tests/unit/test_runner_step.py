"""maia_salt.runner_step.call: how the orchestrations' own states read their runner's return."""
from maia_salt import runner_step

RAISED = ("Exception occurred in runner maia_orch.sync_minions: Traceback (most recent call last):\n"
          "  File \"x.py\", line 1, in f\n"
          "salt.exceptions.SaltRunnerError: no minion matches 'L@nobody' (compound)\n")


def fake_salt(out, seen):
    def runner(fun, **kwargs):
        seen.append((fun, kwargs))
        return out
    return {"saltutil.runner": runner}


def test_the_runner_is_called_under_the_orchestration_and_its_return_kept():
    seen = []
    said, error = runner_step.call(fake_salt({"return": {"synced": {}}, "success": True}, seen),
                                   {"__orchestration_jid__": "2026", "__env__": "base"}, "maia_orch.sync_minions",
                                   "synced", tgt="L@a")
    assert (said, error) == ({"synced": {}}, None)
    assert seen == [("maia_orch.sync_minions", {"__orchestration_jid__": "2026", "__env__": "base",
                                                "full_return": True, "tgt": "L@a"})]


def test_a_failed_or_unusable_return_is_an_error_naming_the_runner():
    said, error = runner_step.call(fake_salt({"return": RAISED, "success": False}, []), {}, "maia_orch.sync_minions", "synced")
    assert said is None
    assert error == "maia_orch.sync_minions failed: no minion matches 'L@nobody' (compound)"
    _, error = runner_step.call(fake_salt({"return": {"other": 1}, "success": True}, []), {}, "maia_orch.sync_minions", "synced")
    assert error == "maia_orch.sync_minions failed: no usable return"
    _, error = runner_step.call(fake_salt({"return": {"synced": {}}, "success": False}, []), {}, "r.f", "synced")
    assert error == "r.f failed: no usable return"
