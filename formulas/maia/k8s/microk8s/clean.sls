{#- Remove MicroK8s (snap removed: the cluster and its data are gone) and the
    kubeconfig files this formula wrote. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
include:
  - maia.k8s.oidc.clean

maia-k8s-microk8s-clean-snap-removed:
  maia_snap.removed:
    - name: microk8s
    - snap_cmd: {{ k8s.snap_cmd }}
    - require:
      - sls: maia.k8s.oidc.clean

maia-k8s-microk8s-clean-files-absent:
  file.absent:
    - names:
      - {{ k8s.kubeconfig }}
      - {{ k8s.paths.export_kubeconfig }}
      - {{ k8s.paths.export_ca }}
      - {{ k8s.paths.launch_config }}
