"""A stage's map, rendered once per state run instead of once per SLS file that imports it.

Every SLS file of a stage imports the stage's parameters (``maia/<stage>/map.jinja``).
Salt renders each SLS file in a new Jinja environment, so a plain import compiles and runs
the whole map again for every file: the map stack's YAML layers fetched from the
fileserver, their merge, the derived values. A stage of 12 files did it 12 times, which
was most of the time a no-op job spent before its first state (docs/performance.md).

So the real work lives in ``maia/<stage>/mapdata.jinja``, and a stage's SLS files ask the
``maia_map`` Salt function for its variables (``salt["maia_map.stage"]("k8s")``; importing even a
thin template cost each file a fileserver fetch and a Jinja compile). :func:`define`
gives that function to both Salt adapters: the execution module on a host
(``_modules/maia_map.py``, importing this file as ``maia_layers.map_memo``) and the salt-ssh
wrapper on the master (``_wrapper/maia_map.py``, as ``maia_salt.map_memo``), where salt-ssh
renders SLS files.

The first call in a state run renders the map through ``slsutil.renderer`` (the same
grains, pillar and Salt functions as the SLS file) and keeps the result, as JSON text, in
``__context__``, the dictionary Salt's loader gives the modules of one state run (Salt
copies it for each state run, so nothing outlives the run). Later calls decode that text
again, so an SLS file that changes what it got changes nothing for the next one. The key
holds the map's path, the variables asked for and a digest of the ``maia`` pillar and the
grains, so a call outside a state run (``salt-call maia_map.data ...``) never answers from
another pillar's render.
"""
from __future__ import annotations

import hashlib
import json
from typing import Callable

CONTEXT_KEY = "maia_map.rendered"
# the variables each stage's ``maia/<stage>/mapdata.jinja`` gives its SLS files: what
# ``stage(name)`` asks for, always all of them, so that one render serves every file of the stage
STAGE_NAMES = {"prepare": ("mapdata", "maia"), "k8s": ("mapdata",), "core": ("mapdata", "parameters"),
               "admin": ("mapdata",)}


def _digest(pillar: dict, grains: dict) -> str:
    text = json.dumps([pillar, grains], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def template_for(path: str, names: list[str]) -> str:
    """The Jinja text that imports ``names`` from the map ``path`` and prints them as JSON."""
    for name in [path, *names]:
        if not isinstance(name, str) or not name or any(c in name for c in "\"'{}%\n"):
            raise ValueError(f"maia_map.data: bad map path or variable name {name!r}")
    imports = ", ".join(names)
    values = ", ".join(f'"{name}": {name}' for name in names)
    return f'{{%- from "{path}" import {imports} with context %}}{{{{ {{{values}}} | json }}}}'


def define(namespace: dict, read_pillar: Callable[[], dict], config_error: type) -> None:
    """Add ``data(path, names)`` to ``namespace`` (the adapter module's ``globals()``).

    ``read_pillar()`` returns the ``maia`` pillar tree as the templates see it; a bad path or
    name raises ``config_error`` (a ``CommandExecutionError``).
    """

    def data(path, names=("mapdata",)):
        """The variables ``names`` of the map template ``path`` (a fileserver path such as
        ``maia/k8s/mapdata.jinja``), rendered once per state run.

        CLI example::

            salt-call maia_map.data maia/prepare/mapdata.jinja '["mapdata", "maia"]'
        """
        names = [names] if isinstance(names, str) else list(names)
        try:
            template = template_for(path, names)
        except ValueError as exc:
            raise config_error(str(exc)) from None
        context = namespace["__context__"]
        key = json.dumps([path, names, _digest(read_pillar(), dict(namespace["__grains__"]))])
        rendered = context.setdefault(CONTEXT_KEY, {})
        if key not in rendered:
            try:
                rendered[key] = namespace["__salt__"]["slsutil.renderer"](string=template, default_renderer="jinja")
            except Exception as exc:  # pylint: disable=broad-except
                # Salt wraps what failed in the map (a raise(), a Salt function's error) in a
                # SaltRenderError of its own render; hand the original on, so that the SLS file's
                # render reports it once, as it did when the file rendered the map itself
                original = exc.__context__
                if type(exc).__name__ == "SaltRenderError" and original is not None:
                    raise original from None
                raise
        return json.loads(rendered[key])

    def stage(name):
        """The variables of stage ``name``'s map (``maia/<name>/mapdata.jinja``) as a mapping,
        rendered once per state run: what the stage's SLS files read, with one Salt call each
        instead of importing a template (a fileserver fetch and a Jinja compile per file).

        CLI example::

            salt-call maia_map.stage k8s
        """
        if name not in STAGE_NAMES:
            raise config_error(f"maia_map.stage: unknown stage {name!r} (one of {', '.join(STAGE_NAMES)})")
        return data(f"maia/{name}/mapdata.jinja", STAGE_NAMES[name])

    for function in (data, stage):
        function.__module__ = namespace["__name__"]
        namespace[function.__name__] = function
