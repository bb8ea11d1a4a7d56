{#- `maia remove-host NAME` on the host that leaves (when it answers): its NFS mount
    and fstab line and the CIFS plugin files. Its packages, storage and UFW stay. #}
include:
  - maia.prepare.nfs.clean
  - maia.prepare.cifs.clean
