{#- k3s enabled and running, a Ready node (retries x interval); restarted only when its
    binary, unit or settings changed. Its admin kubeconfig at maia:kubeconfig (0600). #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
{%- set k3s = k8s.k3s %}

maia-k8s-k3s-running:
  maia_k8s_dist.running:
    - name: k3s
    - kubectl_cmd: [{{ k3s.paths.bin }}, kubectl, --kubeconfig, {{ k8s.paths.k3s_admin_kubeconfig }}]
    - systemctl_cmd: {{ k3s.systemctl_cmd }}
    - retries: {{ k8s.wait_ready.retries }}
    - interval: {{ k8s.wait_ready.interval }}
    - timeout: {{ k8s.wait_ready.timeout }}
{%- if k8s.install %}
    - watch:
      - file: maia-k8s-k3s-binary-installed
      - file: maia-k8s-k3s-unit-managed
      - file: maia-k8s-k3s-proxy-environment
      - maia_k8s_dist: maia-k8s-k3s-settings-merged
{%- endif %}

maia-k8s-k3s-kubeconfig-written:
  maia_microk8s.file_exported:
    - name: {{ k8s.kubeconfig }}
    - source: {{ k8s.paths.k3s_admin_kubeconfig }}
    - mode: '0600'
    - require:
      - maia_k8s_dist: maia-k8s-k3s-running
