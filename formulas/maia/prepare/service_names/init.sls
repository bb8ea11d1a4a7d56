{#- The cluster's service names in /etc/hosts (the collection's configure_host.yaml):
    on a `selfsigned` site no DNS serves <domain>, iam.<domain>, ..., so every
    host maps them to the cluster's ingress address. An entry of the same name
    for another address is replaced (clean), so a moved ingress is followed. #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
include:
  - maia.prepare.validate
{%- if maia.selfsigned %}
{%-   for name in maia.service_names %}

maia-prepare-service-name-{{ name }}-present:
  host.present:
    - name: {{ name }}
    - ip: {{ maia.service_names_address }}
    - clean: true
    - require:
      - test: maia-prepare-inputs-checked
{%-   endfor %}
{%- else %}

maia-prepare-service_names-not-selfsigned-skipped:
  test.succeed_without_changes:
    - name: "maia:cluster:selfsigned is not set: DNS serves the service names, /etc/hosts left as it is"
{%- endif %}
