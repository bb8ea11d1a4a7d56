"""The one builder of a state's return for maia-salt's state modules.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"): every
``_states/maia_*`` module imports it. A return is ``{name, changes, result, comment}``;
changes are ``{key: {"old": ..., "new": ...}}`` as Salt's own states report them
(docs/development.md, "Contracts").
"""
from salt.exceptions import CommandExecutionError, SaltInvocationError


def new(name):
    """A state return that says "nothing to do" until told otherwise."""
    return {"name": name, "changes": {}, "result": True, "comment": ""}


def predicted(ret, changes, comment):
    """``ret`` as a ``test=True`` prediction: result None, the changes a real run would make."""
    ret.update(result=None, changes=changes, comment=comment)
    return ret


def failed(ret, comment):
    """``ret`` as a failure: no changes, the reason as the comment."""
    ret.update(result=False, changes={}, comment=comment)
    return ret


def checked(ret, left, done_comment, left_comment):
    """``ret`` after a change was made and checked again: failed with ``left_comment`` when
    something is ``left`` undone, else successful with ``done_comment`` (changes as they are)."""
    if left:
        ret.update(result=False, comment=left_comment)
    else:
        ret["comment"] = done_comment
    return ret


def attempt(ret, call, *args, **kwargs):
    """``(True, call(*args, **kwargs))``, or, when it fails with an expected error
    (``CommandExecutionError``, ``SaltInvocationError``, ``OSError``), ``(False, None)``
    with ``ret`` marked failed and the error's message as its comment (changes kept)."""
    try:
        return True, call(*args, **kwargs)
    except (CommandExecutionError, SaltInvocationError, OSError) as exc:
        ret.update(result=False, comment=str(exc))
        return False, None
