{#- The whole installation on one host (salt-call --local state.apply maia):
    stage 1 everywhere, stages 2 to 4 on a control-plane host, limited to
    maia:stages. Across several hosts use the orchestration orch.maia. #}
{%- from "maia/map.jinja" import mapstack with context %}
{%- import_yaml "maia/parameters/defaults.yaml" as defaults %}
{%- set maia = pillar.get("maia", {}) %}
{#- every stage in install order (maia/parameters/defaults.yaml); maia:stages picks a subset #}
{%- set stages = (mapstack() | load_json).stages %}
{%- set control_plane = "control-plane" in maia.get("roles", []) %}
{%- set parts = [] %}
{%- for stage in defaults.stages if stage in stages and (stage == "prepare" or control_plane) %}
{%-   do parts.append("maia." ~ stage) %}
{%- endfor %}
{%- if parts %}

include: {{ parts | json }}
{%- else %}

maia-nothing-to-apply:
  test.succeed_without_changes:
    - name: "no stage of maia:stages ({{ stages | join(', ') }}) applies to a host with roles {{ maia.get('roles', []) }}"
{%- endif %}
