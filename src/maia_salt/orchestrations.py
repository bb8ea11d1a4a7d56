"""The orchestrations of ``orch/`` that the ``maia`` commands run, and how their steps
become the rows of a summary.

Each state step of an orchestration applies one SLS on a set of hosts; its rows
in the summary (and in the live progress) carry a stage name. ``step_stage``
names the rows of a step's return, ``sls_stage`` recognises the step's job on
the event bus or in the job cache while it runs (by the SLS it applies). A step
that is a state of its own on the master (orch.maia's Rancher step) is one row,
named by ``step_rows``. A step that applies several stages to each host in one job (orch.maia's
one-job run) is split back into the stages' rows by ``split``: {its stage name: {stage SLS: row}},
each state going to the longest stage SLS its own SLS is part of.
"""
from __future__ import annotations

from dataclasses import dataclass, field


# the rows of orch.maia's one-job step before they are split into stages (and its live progress)
ONE_JOB = "stages"


@dataclass(frozen=True)
class Orchestration:
    sls: str
    command: str  # the maia command that runs it (for "run ... again" hints)
    step_stage: dict[str, str] = field(default_factory=dict)
    sls_stage: dict[str, str] = field(default_factory=dict)
    # steps that run on the master and return their own state result: step id -> row name
    step_rows: dict[str, str] = field(default_factory=dict)
    split: dict[str, dict[str, str]] = field(default_factory=dict)


INSTALL = Orchestration(
    "orch.maia",
    "maia install",
    {"maia-orch-stage-prepare": "prepare", "maia-orch-stage-k8s": "k8s", "maia-orch-stage-k8s-workers": "workers",
     "maia-orch-stage-core": "core", "maia-orch-stage-admin": "admin", "maia-orch-stage-admin-dashboard": "dashboard",
     "maia-orch-stages": ONE_JOB},
    {"maia.prepare": "prepare", "maia.k8s": "k8s", "maia.k8s.worker": "workers", "maia.core": "core",
     "maia.admin": "admin", "maia.admin.dashboard": "dashboard", "maia": ONE_JOB},
    {"maia-orch-workers-joined": "join", "maia-orch-rancher-local-kubeconfig": "rancher"},
    {ONE_JOB: {"maia.preflight": "preflight", "maia.prepare": "prepare", "maia.k8s": "k8s", "maia.k8s.worker": "workers",
               "maia.core": "core", "maia.admin": "admin"}},
)
# runs the maia_preflight runner, no state step: its findings are the step's return
PREFLIGHT = Orchestration("orch.maia_preflight", "maia preflight")
RESET = Orchestration(
    "orch.maia_reset",
    "maia reset",
    {"maia-reset-admin": "admin", "maia-reset-core": "core", "maia-reset-k8s": "k8s", "maia-reset-prepare": "prepare"},
    {"maia.reset.admin": "admin", "maia.reset.core": "core", "maia.k8s.clean": "k8s", "maia.reset.prepare": "prepare"},
)
REMOVE_HOST = Orchestration(
    "orch.maia_remove_host",
    "maia remove-host",
    {"maia-remove-host-leaving": "leaving", "maia-remove-host-others": "others"},
    {"maia.hosts.leaving": "leaving", "maia.hosts.removed": "others"},
    {"maia-remove-host-worker-removed": "worker"},
)
