{#- NVIDIA driver, only where the maia_gpu grain found an NVIDIA GPU (PCI
    vendor 0x10de). The optional reboot is scheduled last, a few seconds
    after this run has returned; the orchestration waits for the host
    (maia:prepare:nvidia_reboot_timeout) before the next stage. #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
include:
  - maia.prepare.validate
{%- if salt["grains.get"]("maia_gpu:nvidia", False) %}

maia-prepare-nvidia-driver-installed:
  pkg.installed:
    - pkgs: {{ mapdata.pkgs.nvidia | json }}
    - require:
      - test: maia-prepare-inputs-checked
{%-   if mapdata.nvidia_reboot %}

maia-prepare-nvidia-reboot-scheduled:
  cmd.run:
    {#- /run/maia-reboot-pending (tmpfs, gone after the reboot) tells the
        orchestration's maia_orch.wait_for_reboots to wait for this host #}
    - name: >-
        touch /run/maia-reboot-pending &&
        systemd-run --on-active=10 --unit=maia-nvidia-reboot
        --description="MAIA: reboot to load the NVIDIA driver" systemctl reboot
    - onchanges:
      - pkg: maia-prepare-nvidia-driver-installed
    - order: last
{%-   endif %}
{%- else %}

maia-prepare-nvidia-no-gpu-skipped:
  test.succeed_without_changes:
    - name: "no NVIDIA GPU, skipped"
{%- endif %}
