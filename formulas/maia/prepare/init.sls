{#- Stage 1 of MAIA: prepare every host. Each part is switched by a flag in
    pillar maia:prepare (defaults in parameters/defaults.yaml, all true). #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set parts = ["nvidia_drivers", "lvm", "ufw", "nfs", "cifs", "service_names"] %}

include:
  - maia.prepare.validate
  - maia.prepare.drift
  - maia.prepare.heal
  - maia.prepare.proxy
{%- for part in parts if mapdata[part] %}
  - maia.prepare.{{ part }}
{%- endfor %}

{%- for part in parts if not mapdata[part] %}

maia-prepare-{{ part }}-skipped:
  test.succeed_without_changes:
    - name: "maia:prepare:{{ part }} is false: {{ part }} skipped"
{%- endfor %}
