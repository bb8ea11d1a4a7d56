{#- k3s on the control-plane host: the pinned release binary, its settings, its
    service, readiness, and the kubeconfig + CA export (maia:k8s:install_k3s, or
    connect_to_k3s for a k3s installed by other means). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
include:
  - maia.k8s.client
{%- if k8s.install %}
  - maia.k8s.k3s.install
{%- endif %}
  - maia.k8s.k3s.ready
{%- if k8s.install or k8s.connect %}
  - maia.k8s.k3s.export
{%- endif %}
