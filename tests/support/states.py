"""Reading Salt state returns in tests: which states changed, which failed."""


def changed_ids(state_ret: dict) -> set[str]:
    return {v["__id__"] for v in state_ret.values() if v.get("changes")}


def failed(state_ret: dict) -> dict:
    return {v["__id__"]: v["comment"] for v in state_ret.values() if v.get("result") is False}
