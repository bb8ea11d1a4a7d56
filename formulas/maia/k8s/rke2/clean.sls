{#- Remove rke2 (rke2-server stopped and disabled, what the tarball unpacked, the cached
    tarball, settings, proxy environment and data: the cluster is gone) and the kubeconfig
    files this formula wrote. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- from "maia/k8s/service_dist.jinja" import removed %}
{%- set install_dir = k8s.rke2.paths.install_dir %}
include:
  - maia.k8s.oidc.clean

{{ removed(k8s, "rke2", "rke2-server", k8s.rke2.systemctl_cmd,
           [k8s.paths.rke2_bin, install_dir ~ "/bin/rke2-killall.sh", install_dir ~ "/bin/rke2-uninstall.sh",
            k8s.paths.rke2_unit, install_dir ~ "/lib/systemd/system/rke2-server.env",
            install_dir ~ "/lib/systemd/system/rke2-agent.service", install_dir ~ "/lib/systemd/system/rke2-agent.env",
            install_dir ~ "/share/rke2", k8s.paths.rke2_tarball, k8s.paths.rke2_environment,
            k8s.paths.rke2_config, k8s.paths.rke2_admin_kubeconfig, k8s.rke2.paths.data_dir]) }}
