{#- Remove k3s (service stopped and disabled, binary, unit, settings and data: the
    cluster is gone) and the kubeconfig files this formula wrote. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
include:
  - maia.k8s.oidc.clean

maia-k8s-k3s-clean-service-dead:
  maia_k8s_dist.dead:
    - name: k3s
    - systemctl_cmd: {{ k8s.k3s.systemctl_cmd }}
    - require:
      - sls: maia.k8s.oidc.clean

maia-k8s-k3s-clean-files-absent:
  file.absent:
    - names:
      - {{ k8s.k3s.paths.bin }}
      - {{ k8s.paths.k3s_unit }}
      - {{ k8s.paths.k3s_unit }}.env
      - {{ k8s.paths.k3s_config }}
      - {{ k8s.paths.k3s_admin_kubeconfig }}
      - {{ k8s.k3s.paths.data_dir }}
      - {{ k8s.kubeconfig }}
      - {{ k8s.paths.export_kubeconfig }}
      - {{ k8s.paths.export_ca }}
    - require:
      - maia_k8s_dist: maia-k8s-k3s-clean-service-dead
