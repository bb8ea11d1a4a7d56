{#- Remove the service names maia.prepare.service_names mapped in /etc/hosts. #}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- for name in maia.service_names if maia.service_names_address %}

maia-prepare-service-name-{{ name }}-absent:
  host.absent:
    - name: {{ name }}
    - ip: {{ maia.service_names_address }}
{%- endfor %}
