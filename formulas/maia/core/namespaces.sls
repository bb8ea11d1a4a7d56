{#- Namespaces of the core layer; created only when missing. #}
{%- from tpldir ~ "/map.jinja" import mapdata with context %}

{%- for namespace in mapdata.namespaces %}

maia-core-namespace-{{ namespace }}-present:
  module.run:
    - maia_core.namespace_ensure:
      - name: {{ namespace }}
      - kubeconfig: {{ mapdata.kubeconfig }}
    - unless:
      - fun: maia_core.namespace_exists
        name: {{ namespace }}
        kubeconfig: {{ mapdata.kubeconfig }}
{%- endfor %}
