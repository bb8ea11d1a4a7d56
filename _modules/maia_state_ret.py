"""maia_state_ret: the state-return builder (``_utils/maia_state_return.py``) through ``__salt__``.

maia-salt's state modules import the library ``maia_state_return``; this module keeps
its functions reachable as ``__salt__["maia_state_ret.<fn>"]`` for state code written
before the library. For state modules, not for people.
"""
import maia_state_return  # _utils/: shipped and put on sys.path by Salt's loader

__virtualname__ = "maia_state_ret"


def __virtual__():
    return __virtualname__


def new(name):
    """A state return that says "nothing to do" until told otherwise."""
    return maia_state_return.new(name)


def predicted(ret, changes, comment):
    """``ret`` as a ``test=True`` prediction."""
    return maia_state_return.predicted(ret, changes, comment)


def failed(ret, comment):
    """``ret`` as a failure: no changes, the reason as the comment."""
    return maia_state_return.failed(ret, comment)


def checked(ret, left, done_comment, left_comment):
    """``ret`` after a change was made and checked again."""
    return maia_state_return.checked(ret, left, done_comment, left_comment)
