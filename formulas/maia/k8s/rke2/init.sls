{#- rke2 on the control-plane host: the pinned release tarball unpacked, its settings, its
    service rke2-server, readiness, and the kubeconfig + CA export (maia:k8s:install_rke2, or
    connect_to_rke2 for an rke2 installed by other means). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
include:
  - maia.k8s.client
{%- if k8s.install %}
  - maia.k8s.rke2.install
{%- endif %}
  - maia.k8s.rke2.ready
{%- if k8s.install or k8s.connect %}
  - maia.k8s.rke2.export
{%- endif %}
