{#- maia reset: the maia_heal beacon goes (only where maia:heal:enabled is set: salt-ssh hosts
    have no beacons to ask). #}
{%- import_yaml "maia/parameters/defaults.yaml" as defaults %}
{%- set heal = salt["slsutil.merge"](defaults.heal, salt["pillar.get"]("maia:heal", {}) or {}, strategy="recurse") %}
{%- if heal.enabled is none %}

maia-prepare-heal-clean-skipped:
  test.succeed_without_changes:
    - name: "maia:heal:enabled is not set: no beacon to remove"
{%- else %}

maia-prepare-heal-beacon-removed:
  beacon.absent:
    - name: maia_heal
    - save: true
{%- endif %}
