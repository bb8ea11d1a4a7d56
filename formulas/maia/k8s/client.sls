{#- The Python Kubernetes client (and bcrypt) for maia_kube / maia_k8s on this host. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- if k8s.client_packages %}

maia-k8s-client-packages-installed:
  pkg.installed:
    - pkgs: {{ k8s.client_packages | json }}
    - reload_modules: true
{%- else %}

maia-k8s-client-packages-skipped:
  test.succeed_without_changes:
    - name: "maia:k8s:client_packages is empty: Kubernetes client packages skipped"
{%- endif %}
