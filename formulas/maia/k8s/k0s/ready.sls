{#- k0scontroller enabled and running, a Ready node (retries x interval); restarted only
    when its binary, unit or settings changed (OIDC's included). Its admin kubeconfig
    (<data_dir>/pki/admin.conf, what `k0s kubeconfig admin` prints) at maia:kubeconfig (0600). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import service_ready %}
{%- set k0s = k8s.k0s %}
{%- set watch = [{"file": "maia-k8s-k0s-binary-installed"}, {"maia_k8s_dist": "maia-k8s-k0s-settings-merged"},
                 {"maia_k8s_dist": "maia-k8s-k0s-unit-installed"}, {"file": "maia-k8s-k0s-proxy-environment"}]
                if k8s.install else [] %}

{{ service_ready(k8s, "k0s", "k0scontroller", [k0s.paths.bin, "kubectl", "--kubeconfig", k8s.paths.k0s_admin_kubeconfig],
                 k0s.systemctl_cmd, k8s.paths.k0s_admin_kubeconfig, watch) }}
