{#- Remove the service names maia.prepare.service_names mapped in /etc/hosts. #}
{%- from "maia/prepare/map.jinja" import maia with context %}
{%- for name in maia.service_names if maia.service_names_address %}

maia-prepare-service-name-{{ name }}-absent:
  host.absent:
    - name: {{ name }}
    - ip: {{ maia.service_names_address }}
{%- endfor %}
