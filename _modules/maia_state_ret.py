"""maia_state_ret: the shape of a state return, shared by maia-salt's state modules.

Salt loads each state module on its own (they cannot import one another), so
the few helpers every state needs to build its return live here, reached
through ``__salt__`` as the error contract is (``_modules/maia_errors.py``).
Changes are ``{key: {"old": ..., "new": ...}}`` (docs/development.md).

For state modules, not for people.
"""

__virtualname__ = "maia_state_ret"


def __virtual__():
    return __virtualname__


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
