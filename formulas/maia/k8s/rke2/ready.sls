{#- rke2-server enabled and running, a Ready node (retries x interval, asked through the kubectl
    rke2 unpacks into its data dir); restarted only when its release files, settings (OIDC's
    included) or proxy environment changed. Its admin kubeconfig
    (/etc/rancher/rke2/rke2.yaml) at maia:kubeconfig (0600). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import service_ready %}
{%- set watch = [{"maia_k8s_dist": "maia-k8s-rke2-release-unpacked"}, {"maia_k8s_dist": "maia-k8s-rke2-settings-merged"},
                 {"file": "maia-k8s-rke2-proxy-environment"}]
                if k8s.install else [] %}

{{ service_ready(k8s, "rke2", "rke2-server", [k8s.paths.rke2_kubectl, "--kubeconfig", k8s.paths.rke2_admin_kubeconfig],
                 k8s.rke2.systemctl_cmd, k8s.paths.rke2_admin_kubeconfig, watch) }}
