{#- Remove k3s (service stopped and disabled, binary, unit, settings and data: the
    cluster is gone) and the kubeconfig files this formula wrote. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import removed %}
include:
  - maia.k8s.oidc.clean

{{ removed(k8s, "k3s", "k3s", k8s.k3s.systemctl_cmd,
           [k8s.k3s.paths.bin, k8s.paths.k3s_unit, k8s.paths.k3s_unit ~ ".env", k8s.paths.k3s_config,
            k8s.paths.k3s_admin_kubeconfig, k8s.k3s.paths.data_dir]) }}
