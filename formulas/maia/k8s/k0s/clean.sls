{#- Remove k0s (k0scontroller stopped and disabled, binary, unit and its proxy drop-in,
    settings and data: the cluster is gone) and the kubeconfig files this formula wrote. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import removed %}
include:
  - maia.k8s.oidc.clean

{{ removed(k8s, "k0s", "k0scontroller", k8s.k0s.systemctl_cmd,
           [k8s.k0s.paths.bin, k8s.paths.k0s_unit, k8s.paths.k0s_unit ~ ".d/maia-proxy.conf",
            k8s.paths.k0s_config, k8s.k0s.paths.data_dir]) }}
