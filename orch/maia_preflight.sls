{#- orch.maia_preflight: the read-only checks of every host and the site, alone
    (orch.maia runs them as its first step unless maia:orch:preflight is false).

    salt-run state.orch orch.maia_preflight
    salt-run state.orch orch.maia_preflight pillar='{"maia": {"orch": {"ssh": true}}}'
    salt-run state.orch orch.maia_preflight pillar='{"maia": {"prepare": {"lvm": false}}}'

    With minions, the module sync comes first (the check is a maia-salt module).
    The step fails when any host or the site has an error; its return holds every
    finding by host (`maia preflight` prints them). #}
{%- from "orch/steps.jinja" import sync_step, preflight_step with context %}
{%- set maia = pillar.get("maia", {}) %}
{%- set orch = maia.get("orch", {}) %}
{%- set ssh = orch.get("ssh", False) %}
{%- set hosts = maia.get("hosts", {}) %}
{%- if not hosts %}

maia-orch-inventory-present:
  test.configurable_test_state:  # a refusal: its reason stays the comment under test=True
    - comment: "no hosts in pillar maia:hosts: write inventory.yaml in CONFIG_FOLDER (maia-configure import-inventory) and configure the maia ext_pillar"
    - result: false
    - changes: false
    - allow_test_mode_failure: true
    - failhard: true
{%- else %}
{%-   if not ssh %}
{{ sync_step(hosts, orch) }}
{%-   endif %}
{{ preflight_step(maia, hosts, ssh, false) }}
{%- endif %}
