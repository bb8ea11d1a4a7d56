{#- k3s enabled and running, a Ready node (retries x interval); restarted only when its
    binary, unit or settings changed. Its admin kubeconfig at maia:kubeconfig (0600). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- set k3s = k8s.k3s %}
{%- from "maia/k8s/service_dist.jinja" import service_ready %}

{%- set watch = [{"file": "maia-k8s-k3s-binary-installed"}, {"file": "maia-k8s-k3s-unit-managed"},
                 {"file": "maia-k8s-k3s-proxy-environment"}, {"maia_k8s_dist": "maia-k8s-k3s-settings-merged"}]
                if k8s.install else [] %}
{{ service_ready(k8s, "k3s", "k3s", [k3s.paths.bin, "kubectl", "--kubeconfig", k8s.paths.k3s_admin_kubeconfig],
                 k3s.systemctl_cmd, k8s.paths.k3s_admin_kubeconfig, watch) }}
