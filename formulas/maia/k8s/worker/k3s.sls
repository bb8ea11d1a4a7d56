{#- k3s on a worker: the pinned release binary (as on the control plane), the agent's settings in
    /etc/rancher/k3s/config.yaml (server, token-file, node-name; merged, never the token), the unit
    k3s-agent.service (`k3s agent --config ...`), its proxy environment file. Not started here. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/proxy.jinja" import proxy_settings with context %}
{%- from "maia/k8s/service_dist.jinja" import release_binary %}
{%- from "maia/k8s/k3s/unit.jinja" import k3s_unit %}
{%- from "maia/k8s/proxy.jinja" import proxy_environment %}
{%- set k3s = k8s.k3s %}
{%- set unit = k3s.paths.unit_dir ~ "/k3s-agent.service" %}

{{ release_binary("k3s", k3s.paths.bin, k3s.release, hash_name="k3s", state_id="maia-k8s-worker-k3s-binary-installed") }}

maia-k8s-worker-k3s-settings-merged:
  maia_k8s_dist.settings_merged:
    - name: {{ k8s.paths.k3s_config }}
    - settings: {{ k8s.k3s_worker_settings | json }}
    - mode: '0600'
    - require:
      - file: maia-k8s-worker-k3s-binary-installed

{{ k3s_unit("maia-k8s-worker-k3s-unit-managed", unit, k3s.paths.bin, k8s.paths.k3s_config, "agent",
            "maia.k8s.worker", "k3s agent (MAIA worker)", {"maia_k8s_dist": "maia-k8s-worker-k3s-settings-merged"}) }}

{{ proxy_environment("maia-k8s-worker-k3s-proxy-environment", unit ~ ".env", proxy_settings("k3s") | load_json,
                     {"maia_k8s_dist": "maia-k8s-worker-k3s-settings-merged"}) }}

{%- from "maia/k8s/worker/agent.jinja" import agent_running %}
{{ agent_running("maia-k8s-worker-k3s-agent-running", "k3s-agent", k3s.paths.config_dir ~ "/join-token", k3s.systemctl_cmd,
                 [{"file": "maia-k8s-worker-k3s-binary-installed"}, {"maia_k8s_dist": "maia-k8s-worker-k3s-settings-merged"},
                  {"file": "maia-k8s-worker-k3s-unit-managed"}, {"file": "maia-k8s-worker-k3s-proxy-environment"}]) }}
