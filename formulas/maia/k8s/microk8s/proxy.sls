{#- A site behind an HTTP proxy (maia:cluster:proxy_ip): MicroK8s' containerd reads its
    environment from args/containerd-env, so maia-salt keeps the proxy there in a marked block
    of its own (the file's other lines stay) and restarts MicroK8s only when that block changed;
    without proxy_ip the block is removed. The snap writes the file, so the first install with a
    proxy restarts MicroK8s once. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/proxy.jinja" import proxy_settings with context %}
{%- set proxy = proxy_settings("microk8s") | load_json %}

maia-k8s-microk8s-proxy-environment:
  maia_microk8s.env_block:
    - name: {{ k8s.paths.containerd_env }}
    - values: {{ (proxy.service_environment if proxy else {}) | json }}
    - require:
      - maia_microk8s: maia-k8s-microk8s-ready

maia-k8s-microk8s-proxy-restarted-when-changed:
  maia_microk8s.restarted:
    - retries: {{ k8s.wait_ready.retries }}
    - interval: {{ k8s.wait_ready.interval }}
    - timeout: {{ k8s.wait_ready.timeout }}
    - microk8s_cmd: {{ k8s.microk8s_cmd }}
    - onchanges:
      - maia_microk8s: maia-k8s-microk8s-proxy-environment
