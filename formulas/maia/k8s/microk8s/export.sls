{#- kubeconfig (server from maia:k8s:api_server_url) and cluster CA into
    maia:config_folder on this host, 0600. The runner maia_kubeconfig.fetch_kubeconfig
    brings them to the master / salt-ssh side. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import export_compared %}

maia-k8s-microk8s-kubeconfig-exported:
  maia_microk8s.kubeconfig_written:
    - name: {{ k8s.paths.export_kubeconfig }}
    - server: {{ k8s.api_server_url }}
    - mode: '0600'
    - microk8s_cmd: {{ k8s.microk8s_cmd }}
    - require:
      - maia_microk8s: maia-k8s-microk8s-ready

maia-k8s-microk8s-ca-exported:
  maia_microk8s.file_exported:
    - name: {{ k8s.paths.export_ca }}
    - source: {{ k8s.paths.ca_cert }}
    - mode: '0600'
    - require:
      - maia_microk8s: maia-k8s-microk8s-ready

{{ export_compared(k8s, ["maia-k8s-microk8s-kubeconfig-exported", "maia-k8s-microk8s-ca-exported"]) }}
