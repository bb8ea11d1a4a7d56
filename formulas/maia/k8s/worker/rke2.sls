{#- rke2 on a worker: the pinned release tarball unpacked (as on the control plane; its
    rke2-agent.service is the agent's unit), the agent's settings in /etc/rancher/rke2/config.yaml
    (server on rke2's supervisor port, token-file, node-name; merged, never the token), the proxy
    environment /etc/default/rke2-agent. Not started here. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/proxy.jinja" import proxy_settings with context %}
{%- from "maia/k8s/rke2/release.jinja" import rke2_release %}
{%- from "maia/k8s/proxy.jinja" import proxy_environment %}

{{ rke2_release(k8s, "maia-k8s-worker-rke2") }}

maia-k8s-worker-rke2-settings-merged:
  maia_k8s_dist.settings_merged:
    - name: {{ k8s.paths.rke2_config }}
    - settings: {{ k8s.rke2_worker_settings | json }}
    - mode: '0600'
    - require:
      - maia_k8s_dist: maia-k8s-worker-rke2-release-unpacked

{{ proxy_environment("maia-k8s-worker-rke2-proxy-environment", k8s.rke2.paths.environment_dir ~ "/rke2-agent",
                     proxy_settings("rke2") | load_json, {"maia_k8s_dist": "maia-k8s-worker-rke2-settings-merged"}) }}

{%- from "maia/k8s/worker/agent.jinja" import agent_running %}
{{ agent_running("maia-k8s-worker-rke2-agent-running", "rke2-agent", k8s.rke2.paths.config_dir ~ "/join-token",
                 k8s.rke2.systemctl_cmd,
                 [{"maia_k8s_dist": "maia-k8s-worker-rke2-release-unpacked"}, {"maia_k8s_dist": "maia-k8s-worker-rke2-settings-merged"},
                  {"file": "maia-k8s-worker-rke2-proxy-environment"}]) }}
