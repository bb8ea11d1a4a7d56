{#- Checks of host vars and pillar that run before any change (order 1,
    failhard): a bad value stops the whole run with a message naming it. #}
{%- set mapdata = salt["maia_map.stage"]("prepare").mapdata %}
{%- set maia = salt["maia_map.stage"]("prepare").maia %}

maia-prepare-inputs-checked:
  test.succeed_without_changes:
    - name: "maia.prepare inputs of {{ maia.id }} checked"
    - order: 1
{%- if mapdata.lvm %}

maia-prepare-lvm-host-vars-valid:
  maia_storage.host_vars_valid:
    - vg: {{ mapdata.storage.vg }}
    - devices: {{ maia.host.get("device_list", []) | json }}
    - volumes: {{ maia.volumes | json }}
    - host: {{ maia.id }}
    - order: 1
    - failhard: true
    - require_in:
      - test: maia-prepare-inputs-checked
{%- endif %}
{%- if mapdata.ufw %}

maia-prepare-ufw-extra-rules-valid:
  maia_ufw.rules_valid:
    - rules: {{ mapdata.ufw_extra_rules | json }}
    - order: 1
    - failhard: true
    - require_in:
      - test: maia-prepare-inputs-checked
{%- endif %}
{%- if (mapdata.ufw or mapdata.nfs) and maia.unresolved %}

maia-prepare-host-addresses-known:
  test.configurable_test_state:  # a refusal: its reason stays the comment under test=True
    - name: &reason1 "no IP address known for {{ maia.unresolved | join(', ') }}: firewall and NFS rules need one. Give each an IP address in inventory.yaml, or let its minion report its grains (salt '*' saltutil.sync_grains) so the ext_pillar finds its default IPv4"
    - comment: *reason1
    - result: false
    - changes: false
    - allow_test_mode_failure: true
    - order: 1
    - failhard: true
    - require_in:
      - test: maia-prepare-inputs-checked
{%- endif %}
{%- if mapdata.nfs and maia.is_nfs_client and not maia.nfs_server_address %}

maia-prepare-nfs-server-known:
  test.configurable_test_state:  # a refusal: its reason stays the comment under test=True
    - name: &reason2 "host {{ maia.id }} is in nfs_clients but pillar maia:nfs_server has no address: put one host in the nfs_server group"
    - comment: *reason2
    - result: false
    - changes: false
    - allow_test_mode_failure: true
    - order: 1
    - failhard: true
    - require_in:
      - test: maia-prepare-inputs-checked
{%- endif %}
{%- if mapdata.service_names and maia.selfsigned and not (maia.domain and maia.service_names_address | is_ip) %}

maia-prepare-service-names-inputs-known:
  test.configurable_test_state:  # a refusal: its reason stays the comment under test=True
    - name: &reason3 "service names in /etc/hosts (selfsigned site) need maia:cluster:domain (now '{{ maia.domain }}') and an IP address to map them to (now '{{ maia.service_names_address }}'): give a control-plane host an IP in inventory.yaml, set maia:prepare:service_names_address, or set maia:prepare:service_names false"
    - comment: *reason3
    - result: false
    - changes: false
    - allow_test_mode_failure: true
    - order: 1
    - failhard: true
    - require_in:
      - test: maia-prepare-inputs-checked
{%- endif %}
