"""A block of lines that maia-salt owns inside a file someone else owns (MicroK8s'
``args/containerd-env``): kept between two marker comments, replaced as a whole, removed
with its markers, and every line outside it left as it was.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"):
plain functions, no Salt dunders.
"""


def markers(tag):
    return f"# BEGIN {tag}", f"# END {tag}"


def _span(lines, tag):
    """(begin, end) line indexes of the block of ``tag``: the last begin marker that an end
    marker follows (a stray begin marker above it is an ordinary line); None without one."""
    begin, end = markers(tag)
    for start in reversed([i for i, line in enumerate(lines) if line == begin]):
        if end in lines[start + 1:]:
            return start, lines.index(end, start + 1)
    return None


def block_of(text, tag):
    """The lines between the markers of ``tag`` in ``text``; None without a (whole) block."""
    lines = text.splitlines()
    span = _span(lines, tag)
    return None if span is None else lines[span[0] + 1:span[1]]


def with_block(text, tag, block):
    """``text`` with the block of ``tag`` holding ``block`` (a list of lines): replaced where it
    is, appended where it is not; an empty ``block`` removes it, markers included."""
    begin, end = markers(tag)
    lines = text.splitlines()
    span = _span(lines, tag)
    before, after = (lines[:span[0]], lines[span[1] + 1:]) if span else (lines, [])
    middle = [begin, *block, end] if block else []
    out = before + middle + after
    return "\n".join(out) + "\n" if out else ""
