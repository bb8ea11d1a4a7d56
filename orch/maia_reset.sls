{#- orch.maia_reset: take a site back to before `maia install`, last stage first.

    salt-run state.orch orch.maia_reset
    salt-run state.orch orch.maia_reset pillar='{"maia": {"reset": {"stages": ["core"]}}}'
    salt-run state.orch orch.maia_reset pillar='{"maia": {"reset": {"wipe_storage": true}}}'   # data lost
    salt-run state.orch orch.maia_reset test=True                                             # what would go
    salt-run state.orch orch.maia_reset pillar='{"maia": {"orch": {"ssh": true}}}'

    admin (control-plane): the admin layer's Applications and AppProject (maia.reset.admin);
    core (control-plane): the Applications and the AppProject (maia.reset.core);
    k8s (control-plane): ArgoCD, the CA objects, the OIDC lines, MicroK8s (maia.k8s.clean);
    prepare (every host): NFS, CIFS, UFW rules, and the LVM storage only with
    maia:reset:wipe_storage (maia.reset.prepare). A failed step stops the run. #}
{%- from "orch/steps.jinja" import sync_step, stage_target, mark_run, forget_converged with context %}
{#- the site is no longer what orch.maia's last run left: its next run orders its stages #}
{{- forget_converged() }}
{%- set maia = pillar.get("maia", {}) %}
{%- set orch = maia.get("orch", {}) %}
{%- set reset = maia.get("reset", {}) %}
{%- set ssh = orch.get("ssh", False) %}
{#- every stage, last installed first (maia/parameters/defaults.yaml lists them in install order) #}
{%- import_yaml "maia/parameters/defaults.yaml" as defaults %}
{%- set stages = reset.get("stages", defaults.stages | reverse | list) %}
{%- set unknown = stages | reject("in", defaults.stages) | list %}
{#- With minions Salt waits `timeout` seconds, then asks each minion (find_job) whether the job
    still runs and keeps waiting while it does: a short default makes a minion that never got the
    job (a lost publish) fail the step in minutes instead of an hour. Over salt-ssh it bounds the run. #}
{%- set timeout = orch.get("timeout", 3600 if ssh else 300) %}
{%- set hosts = maia.get("hosts", {}) %}
{%- set step_pillar = {"maia": {"reset": {"wipe_storage": reset.get("wipe_storage", False)}}} %}
{%- for stage in defaults.stages %}
{%-   do step_pillar.maia.update({stage: maia.get(stage, {})}) %}
{%- endfor %}
{{- mark_run(step_pillar, orch) }}
{%- set plan = [("admin", "maia.reset.admin", True), ("core", "maia.reset.core", True), ("k8s", "maia.k8s.clean", True), ("prepare", "maia.reset.prepare", False)] %}

{%- if unknown %}

maia-reset-stages-valid:
  test.configurable_test_state:  # a refusal: its reason stays the comment under test=True
    - comment: "maia:reset:stages has {{ unknown | join(', ') }}: use {{ defaults.stages | reverse | join(', ') }} (some or all)"
    - result: false
    - changes: false
    - allow_test_mode_failure: true
    - failhard: true
{%- elif not hosts %}

maia-orch-inventory-present:
  test.configurable_test_state:  # a refusal: its reason stays the comment under test=True
    - comment: "no hosts in pillar maia:hosts: write inventory.yaml in CONFIG_FOLDER and configure the maia ext_pillar"
    - result: false
    - changes: false
    - allow_test_mode_failure: true
    - failhard: true
{%- else %}
{%-   if not ssh %}
{{ sync_step(hosts, orch) }}
{%-   endif %}
{%-   for stage, sls, cp_only in plan if stage in stages %}

maia-reset-{{ stage }}:
  salt.state:
{{ stage_target(hosts, ssh, "control-plane" if cp_only else none) }}
    - sls: {{ sls }}
    - pillar: {{ step_pillar | json }}
    - timeout: {{ timeout }}
    - failhard: true
{%-     if not ssh %}
    - require:
      - salt: maia-orch-minions-synced
{%-     endif %}
{%-   endfor %}
{%- endif %}
