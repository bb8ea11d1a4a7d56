{#- Undo maia.prepare where undoing is safe: CIFS plugin, NFS mounts and
    exports, UFW rules and firewall, LVM mounts (volumes and data are kept),
    NVIDIA driver packages, the service names in /etc/hosts. #}
include:
  - maia.prepare.cifs.clean
  - maia.prepare.nfs.clean
  - maia.prepare.ufw.clean
  - maia.prepare.lvm.clean
  - maia.prepare.nvidia_drivers.clean
  - maia.prepare.service_names.clean
