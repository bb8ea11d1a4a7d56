{#- k0s on the control-plane host: the pinned release binary, its settings file, the
    service `k0s install controller` writes for it, readiness, and the kubeconfig + CA export
    (maia:k8s:install_k0s, or connect_to_k0s for a k0s installed by other means). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
include:
  - maia.k8s.client
{%- if k8s.install %}
  - maia.k8s.k0s.install
{%- endif %}
  - maia.k8s.k0s.ready
{%- if k8s.install or k8s.connect %}
  - maia.k8s.k0s.export
{%- endif %}
