{#- kubeconfig (server: maia:k8s:api_server_url, the API's real address, no tunnel) and
    the k3s server CA into maia:config_folder on this host, 0600; the runner
    maia_kubeconfig.fetch_kubeconfig brings them to the master / salt-ssh side. #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}

maia-k8s-k3s-kubeconfig-exported:
  maia_microk8s.file_exported:
    - name: {{ k8s.paths.export_kubeconfig }}
    - source: {{ k8s.paths.k3s_admin_kubeconfig }}
    - server: {{ k8s.api_server_url }}
    - mode: '0600'
    - require:
      - maia_k8s_dist: maia-k8s-k3s-running

maia-k8s-k3s-ca-exported:
  maia_microk8s.file_exported:
    - name: {{ k8s.paths.export_ca }}
    - source: {{ k8s.paths.ca_cert }}
    - mode: '0600'
    - require:
      - maia_k8s_dist: maia-k8s-k3s-running
