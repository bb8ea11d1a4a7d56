{#- Self-healing (docs/operations.md, "Self-healing"): with pillar maia:heal:enabled true, the
    maia_heal beacon watches what this host's stages own (UFW's rules, on the NFS server
    /etc/exports and its service, on the control plane the Kubernetes service) and the master's
    reactor re-applies the owning state when one changes. false removes the beacon; no value
    leaves the beacons alone (salt-ssh and salt-call --local hosts have no beacons to ask). #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}
{%- import_yaml "maia/parameters/defaults.yaml" as defaults %}
{%- set heal = salt["slsutil.merge"](defaults.heal, salt["pillar.get"]("maia:heal", {}) or {}, strategy="recurse") %}
{%- set roles = salt["pillar.get"]("maia:roles", []) %}
{%- set wanted = {"ufw": mapdata.ufw, "nfs": mapdata.nfs and "nfs_server" in roles, "kubernetes": "control-plane" in roles} %}
{%- set watch = {} %}
{%- for name, spec in heal.watch | dictsort if wanted.get(name) %}
{#-   the Kubernetes service is the site's distribution's unless the pillar names one #}
{%-   set services = spec.services or (heal.kubernetes_services.get(maia.k8s_distribution, []) if name == "kubernetes" else []) %}
{%-   do watch.update({name: {"files": spec.files or [], "services": services}}) %}
{%- endfor %}
{%- if heal.enabled is none %}

maia-prepare-heal-skipped:
  test.succeed_without_changes:
    - name: "maia:heal:enabled is not set: beacons left alone"
{%- elif heal.enabled | to_bool and watch %}

maia-prepare-heal-beacon-present:
  beacon.present:
    - name: maia_heal
    - save: true
    - interval: {{ heal.interval | int }}
    - disable_during_state_run: true
    - watches: {{ watch | json }}
{%- else %}

maia-prepare-heal-beacon-absent:
  beacon.absent:
    - name: maia_heal
    - save: true
{%- endif %}
