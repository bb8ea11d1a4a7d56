"""``maia validate``: an offline check of a site, with no host and no Salt daemon.

It reads the CONFIG_FOLDER as the ``maia`` ext_pillar does (:func:`maia_salt.pillar_map.site_pillar`,
the same code, so the same messages), checks the inventory, builds every host's ``maia`` pillar,
renders stage 3's specs (:func:`maia_salt.core.mapdata`) for the control-plane host, where the core
layer is rendered at run time, and renders the SLS of every stage each host runs with real Salt
(:mod:`maia_salt.state_render`: Salt's own render errors).

What it cannot know offline: ordinary pillar other than ``--pillar`` (a site's pillar_roots or
git_pillar), and the hosts' grains (the SLS render uses placeholder grains:
:data:`maia_salt.state_render.PLACEHOLDER_GRAINS`). A host without an address in the inventory gets its address from
its grains at run time; here it is given a documentation address (192.0.2.x, RFC 5737) so that the
rest renders, and a note says so.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from . import parameters, state_render
from .core import ConfigError as CoreConfigError
from .core import mapdata as core_mapdata
from .inventory import InventoryError
from .pillar_map import ConfigFolderError, load_site, site_pillar

SITE = "site"  # the findings that are not one host's
_STAND_IN_NET = ipaddress.ip_network("192.0.2.0/24")  # TEST-NET-1: never a real host


@dataclass
class Finding:
    host: str
    level: str  # "error" or "note"
    message: str

    def to_dict(self) -> dict:
        return {"host": self.host, "level": self.level, "message": self.message}


@dataclass
class ValidationReport:
    config_folder: str
    hosts: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, host: str, level: str, message: str) -> None:
        if not any(f.level == level and f.message == message for f in self.findings):
            self.findings.append(Finding(host, level, message))

    def render(self) -> str:
        lines = [f"validate {self.config_folder}: {len(self.hosts)} host(s)"]
        for finding in self.findings:
            tag = "ERROR" if finding.level == "error" else "note"
            lines.append(f"  {tag} {finding.host}: {finding.message}")
        lines.append("valid" if self.ok else f"INVALID: {len(self.errors)} error(s)")
        return "\n".join(lines)


def _grains_stand_in(inventory):
    """Documentation addresses for hosts without one (their grains give it at run time)."""
    addressless = sorted(name for name, host in (inventory.hosts.items() if inventory else ()) if not host.address)
    given = {name: str(_STAND_IN_NET[index + 1]) for index, name in enumerate(addressless)}
    return addressless, lambda name: {"maia_default_ipv4": given[name]} if name in given else {}


def validate_site(config_folder, overrides: dict | None = None, parameter_roots=(), render: bool = True
                  ) -> ValidationReport:
    """Check ``config_folder``; ``overrides`` is the ``maia`` tree of extra pillar (``--pillar``).

    ``render=False`` keeps to what does not depend on the site's ordinary pillar (the folder's files
    and the inventory's own rules): the check ``maia install`` makes before it starts Salt."""
    folder = Path(config_folder)
    report = ValidationReport(str(folder))
    overrides = overrides or {}
    try:
        _env, _cluster, _credentials, inventory = load_site(folder)
    except (ConfigFolderError, InventoryError) as exc:
        report.add(SITE, "error", str(exc))
        return report
    report.hosts = sorted(inventory.hosts) if inventory is not None else []
    if inventory is None:
        report.add(SITE, "note", "no inventory.yaml: every host gets the whole site (single-host runs)")
    if not render:
        if inventory is not None:
            try:
                inventory.validate(lvm_enabled=False)
            except InventoryError as exc:
                report.add(SITE, "error", str(exc))
        return report
    addressless, grains_of = _grains_stand_in(inventory)
    for name in addressless:
        report.add(name, "note", "no address in inventory.yaml: at run time its default IPv4 comes from its grains "
                                 "(the master's cache, filled when the host first answers)")
    stages = overrides.get("stages") or parameters.defaults(None, parameter_roots).get("stages") or []
    with state_render.Renderer(_formulas_root(parameter_roots)) as renderer:
        for host in report.hosts or ["localhost"]:
            try:
                pillar = site_pillar(folder, host, overrides, grains_of=grains_of,
                                     parameter_roots=parameter_roots)["maia"]
            except (ConfigFolderError, InventoryError, ValueError) as exc:
                report.add(SITE, "error", f"pillar: {exc}")
                break  # the same folder fails every host's pillar the same way
            if "core" in stages and (inventory is None or "control-plane" in pillar.get("roles", [])):
                _render_core(report, host, pillar, parameter_roots)
            _render_states(report, renderer, host, pillar, grains_of(host), stages, inventory is None)
    return report


def _formulas_root(parameter_roots) -> Path:
    """The formulas/ folder whose SLS the run would render (the first root that holds maia/)."""
    for root in [*map(Path, parameter_roots or ()), parameters.CHECKOUT_ROOT]:
        if (root / "maia").is_dir():
            return root
    return parameters.CHECKOUT_ROOT


def _render_states(report, renderer, host: str, pillar: dict, grains: dict, stages, single_host: bool) -> None:
    """Each stage's SLS that orch.maia runs on ``host``, rendered by real Salt (state_render)."""
    roles = ["control-plane"] if single_host else list(pillar.get("roles") or [])
    rendered = []
    for stage in state_render.stages_of(roles, list(stages)):
        errors = renderer.render(host, pillar, grains, stage)
        for error in errors:
            report.add(host, "error", f"stage {stage}: {error}")
        if not errors:
            rendered.append(stage)
    if rendered:
        report.add(host, "note", f"the states of {', '.join(rendered)} render (Salt, placeholder grains)")


def _render_core(report: ValidationReport, host: str, pillar: dict, parameter_roots) -> None:
    try:
        data = core_mapdata(parameters.defaults("core", parameter_roots), pillar)
    except CoreConfigError as exc:
        report.add(host, "error", f"stage core: {exc}")
        return
    report.add(host, "note", f"stage core: {len(data['apps'])} Applications and {len(data['namespaces'])} "
                             "namespaces render")


def config_folder_of(master_opts: dict) -> str | None:
    """The ``config_folder`` of the ``maia`` ext_pillar in a master configuration (None when absent)."""
    for entry in master_opts.get("ext_pillar") or []:
        if isinstance(entry, dict) and isinstance(entry.get("maia"), dict) and entry["maia"].get("config_folder"):
            return str(entry["maia"]["config_folder"])
    return None
