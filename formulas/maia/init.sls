{#- The whole installation on one host (salt-call --local state.apply maia):
    stage 1 everywhere, stages 2 to 4 on a control-plane host, limited to
    maia:stages. Across several hosts use the orchestration orch.maia.

    orch.maia's one-job run (docs/orchestration.md, "One job per host on a converged site")
    applies this SLS to every host with maia:orch:parts, {host: [stage SLS, ...]}: the stage
    SLS the stage steps would have applied to this host, in stage order, after maia.preflight
    (the host's preflight checks, first). Any other name there is refused. #}
{%- from "maia/map.jinja" import mapstack with context %}
{%- import_yaml "maia/parameters/defaults.yaml" as defaults %}
{%- set maia = pillar.get("maia", {}) %}
{#- every stage in install order (maia/parameters/defaults.yaml); maia:stages picks a subset #}
{%- set stages = (mapstack() | load_json).stages %}
{%- set control_plane = "control-plane" in maia.get("roles", []) %}
{%- set given = (maia.get("orch") or {}).get("parts") %}
{%- set known = ["maia.preflight", "maia.prepare", "maia.k8s", "maia.k8s.worker", "maia.core", "maia.admin"] %}
{%- set parts = [] %}
{%- if given is mapping %}
{%-   set parts = given.get(grains["id"]) or [] %}
{%- else %}
{%-   for stage in defaults.stages if stage in stages and (stage == "prepare" or control_plane) %}
{%-     do parts.append("maia." ~ stage) %}
{%-   endfor %}
{%- endif %}
{%- set unknown = parts | reject("in", known) | list %}
{%- if unknown %}

maia-parts-known:
  test.fail_without_changes:
    - name: "maia:orch:parts names {{ unknown | join(', ') }} for {{ grains['id'] }}: only {{ known | join(', ') }}"
    - failhard: true
{%- elif parts %}

include: {{ parts | json }}
{%- else %}

maia-nothing-to-apply:
  test.succeed_without_changes:
    - name: "no stage of maia:stages ({{ stages | join(', ') }}) applies to a host with roles {{ maia.get('roles', []) }}"
{%- endif %}
