{#- Wait until MicroK8s answers `status --wait-ready` (retries x interval from pillar). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}

maia-k8s-microk8s-ready:
  maia_microk8s.running:
    - retries: {{ k8s.wait_ready.retries }}
    - interval: {{ k8s.wait_ready.interval }}
    - timeout: {{ k8s.wait_ready.timeout }}
    - microk8s_cmd: {{ k8s.microk8s_cmd }}
{%- if k8s.install_microk8s %}
    - require:
      - maia_snap: maia-k8s-microk8s-snap-installed
{%- endif %}

maia-k8s-microk8s-kubeconfig-written:
  maia_microk8s.kubeconfig_written:
    - name: {{ k8s.kubeconfig }}
    - mode: '0600'
    - microk8s_cmd: {{ k8s.microk8s_cmd }}
    - require:
      - maia_microk8s: maia-k8s-microk8s-ready
