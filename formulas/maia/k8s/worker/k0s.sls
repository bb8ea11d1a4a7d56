{#- k0s on a worker: the pinned release binary (as on the control plane) and the proxy drop-in of
    k0sworker.service; `k0s install worker --token-file /etc/k0s/worker-token` writes that unit at
    join time (the token names the cluster's API). Not started here. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/proxy.jinja" import proxy_settings with context %}
{%- from "maia/k8s/service_dist.jinja" import release_binary %}
{%- from "maia/k8s/proxy.jinja" import proxy_environment %}
{%- set k0s = k8s.k0s %}

{{ release_binary("k0s", k0s.paths.bin, k0s.release, state_id="maia-k8s-worker-k0s-binary-installed") }}

{{ proxy_environment("maia-k8s-worker-k0s-proxy-environment", k0s.paths.unit_dir ~ "/k0sworker.service.d/maia-proxy.conf",
                     proxy_settings("k0s") | load_json, {"file": "maia-k8s-worker-k0s-binary-installed"},
                     dropin=True, sls="maia.k8s.worker.k0s") }}

{%- from "maia/k8s/worker/agent.jinja" import agent_running %}
{{ agent_running("maia-k8s-worker-k0s-agent-running", "k0sworker", k0s.paths.config_dir ~ "/worker-token", k0s.systemctl_cmd,
                 [{"file": "maia-k8s-worker-k0s-binary-installed"}, {"file": "maia-k8s-worker-k0s-proxy-environment"}]) }}
