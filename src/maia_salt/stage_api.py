"""The Salt functions of a stage library, written once for both of its Salt adapters.

A stage library (``maia_salt.core``; ``maia_salt.admin`` through :func:`layer_function`) builds everything its formula
applies from two inputs: the stage's parameters, merged once by the map stack
(``maia/<stage>/map.jinja``: ``parameters/defaults.yaml`` <- per-OS files <- pillar
``maia:<stage>:lookup`` <- pillar ``maia:<stage>``), and the ``maia`` pillar's site facts.
Two Salt adapters expose it under the same name and API: the execution module on a host
(``_modules/maia_<stage>.py``, which imports this file as ``maia_layers.stage_api``) and the
salt-ssh wrapper on the master (``_wrapper/maia_<stage>.py``, which imports it as
``maia_salt.stage_api``). :func:`define` gives both the same functions; each adapter only
says where its pillar comes from.

Called without ``parameters`` (``salt-call maia_core.applications`` by hand), a function
renders the stage's own ``map.jinja`` through ``slsutil.renderer``, which calls back with the
parameters the map stack merged, so the command line shows exactly what the states get.
"""
from __future__ import annotations

from typing import Callable


def define(namespace: dict, library, stage: str, read_pillar: Callable[[], dict], config_error: type) -> None:
    """Add ``mapdata``, ``applications``, ``application``, ``project`` and ``namespaces`` to
    ``namespace`` (the adapter module's ``globals()``).

    ``library.mapdata(parameters, pillar)`` builds the stage's data and raises
    ``library.ConfigError``, turned into ``config_error`` (a ``CommandExecutionError``);
    ``read_pillar()`` returns the ``maia`` pillar tree, unmasked. The functions are made
    the adapter's own (``__module__``), as Salt's loader packs only a module's own functions.
    """
    map_file = f"maia/{stage}/map.jinja"

    def mapdata(parameters=None, pillar=None):
        """Everything the stage's formula applies, from its parameters and the ``maia`` pillar.

        ``parameters`` is what ``map.jinja`` passes (the map stack's merge); without it the
        stage's ``map.jinja`` is rendered. ``pillar`` (the ``maia`` tree) defaults to this
        host's. Raises with every bad key named when the input is incomplete.

        CLI example::

            salt-call maia_core.mapdata
        """
        if parameters is None:
            template = f'{{%- from "{map_file}" import mapdata with context %}}{{{{ mapdata | json }}}}'
            return namespace["__salt__"]["slsutil.renderer"](string=template, default_renderer="jinja|json")
        try:
            return library.mapdata(parameters, pillar if pillar is not None else read_pillar())
        except library.ConfigError as exc:
            raise config_error(str(exc)) from None

    def applications(parameters=None, pillar=None):
        """Every enabled Application: name, spec, secret_keys, sync_wave (by wave).

        CLI example::

            salt-call maia_core.applications
        """
        return mapdata(parameters, pillar)["apps"]

    def application(component, parameters=None, pillar=None):
        """One Application (``component`` as in the catalogue, e.g. ``traefik``, or its name).

        CLI example::

            salt-call maia_core.application prometheus
        """
        for app in applications(parameters, pillar):
            if component in (app["component"], app["name"]):
                return app
        raise config_error(f"no enabled MAIA {stage} component {component!r}")

    def project(parameters=None, pillar=None):
        """The AppProject: name, namespace, spec.

        CLI example::

            salt-call maia_core.project
        """
        return mapdata(parameters, pillar)["project"]

    def namespaces(parameters=None, pillar=None):
        """The namespaces of the stage.

        CLI example::

            salt-call maia_core.namespaces
        """
        return mapdata(parameters, pillar)["namespaces"]

    for function in (mapdata, applications, application, project, namespaces):
        function.__doc__ = function.__doc__.replace("maia_core", f"maia_{stage}")
        function.__module__ = namespace["__name__"]
        function.__qualname__ = function.__name__
        namespace[function.__name__] = function


def layer_function(namespace: dict, libraries: dict, read_pillar: Callable[[], dict], config_error: type):
    """Add ``layer(name, parameters, core_defaults, pillar)`` to ``namespace``: the data of the
    ArgoCD layer ``name`` (``core``: stage 3, as ``mapdata``; ``admin``: stage 4, whose library
    also reads stage 3's parameters for the distribution table). ``libraries`` maps a layer name
    to its library; ``None`` for a library this host has not synced."""

    def layer(name, parameters=None, core_defaults=None, pillar=None):
        """Everything ``formulas/maia/<name>`` applies, for the ArgoCD layers ``core`` and ``admin``.

        CLI example::

            salt-call maia_core.layer admin
        """
        if name not in libraries:
            raise config_error(f"maia_core.layer: {name!r} is not one of {', '.join(libraries)}")
        if name == "core":
            return namespace["mapdata"](parameters, pillar)
        if parameters is None:
            template = f'{{%- from "maia/{name}/map.jinja" import mapdata with context %}}{{{{ mapdata | json }}}}'
            return namespace["__salt__"]["slsutil.renderer"](string=template, default_renderer="jinja|json")
        library = libraries[name]
        try:
            return library.mapdata(parameters, pillar if pillar is not None else read_pillar(), core_defaults or {})
        except libraries["core"].ConfigError as exc:
            raise config_error(str(exc)) from None

    layer.__module__ = namespace["__name__"]
    namespace["layer"] = layer
