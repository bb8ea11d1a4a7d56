{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
include:
  - maia.k8s.client
{%- if k8s.install_microk8s %}
  - maia.k8s.microk8s.install
{%- endif %}
  - maia.k8s.microk8s.ready
{%- if k8s.install_microk8s %}
  - maia.k8s.microk8s.proxy
  - maia.k8s.microk8s.addons
{%- endif %}
{%- if k8s.install_microk8s or k8s.connect_to_microk8s %}
  - maia.k8s.microk8s.export
{%- endif %}
