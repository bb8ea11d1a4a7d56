{#- kubeconfig (server: maia:k8s:api_server_url, the API's real address, no tunnel) and
    rke2's server CA (server/tls/server-ca.crt) into maia:config_folder on this host, 0600; the
    runner maia_kubeconfig.fetch_kubeconfig brings them to the master / salt-ssh side. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import exported %}

{{ exported(k8s, "rke2", k8s.paths.rke2_admin_kubeconfig) }}
