{#- orch.maia_remove_host: take one host out of a site.

    salt-run state.orch orch.maia_remove_host pillar='{"maia": {"remove_host": {"name": "maia-node-3"}}}'
    salt-run state.orch orch.maia_remove_host pillar='{"maia": {"remove_host": {"name": "maia-node-3"}, "orch": {"ssh": true}}}'

    1. the host itself, if it answers: its NFS mount and the CIFS plugin files
       (maia.hosts.leaving); a host that is gone already fails only this step;
    2. every other host: the UFW rules naming its address, and on the NFS
       server its place in the /etc/exports line (maia.hosts.removed);
    3. the master: the host leaves CONFIG_FOLDER/inventory.yaml (maia_hosts.drop_host);
       with minions, the host's pillar is refreshed (it no longer matches the stage targets).
    A worker (inventory group workers) first leaves the cluster (maia_join.worker_removed): on itself,
    when it answers, maia_k8s_join.leave (its agent stopped and disabled, its join token and agent
    state removed; MicroK8s: microk8s leave), then on the control plane maia_k8s_join.remove_node
    deletes its node (in this order, so that a running agent cannot register the node again).
    The control-plane and the NFS server are refused before any change, with the reason. #}
{%- from "orch/steps.jinja" import sync_step, mark_run, join_target, forget_converged with context %}
{#- the site is no longer what orch.maia's last run left: its next run orders its stages #}
{{- forget_converged() }}
{%- set maia = pillar.get("maia", {}) %}
{%- set orch = maia.get("orch", {}) %}
{%- set ssh = orch.get("ssh", False) %}
{%- set hosts = maia.get("hosts", {}) %}
{%- set name = maia.get("remove_host", {}).get("name") %}
{%- set host = hosts.get(name, {}) if name else {} %}
{%- set roles = host.get("roles", []) %}
{%- set others = hosts.keys() | reject("equalto", name) | list %}
{%- set clients = [] %}
{%- for other, data in hosts | dictsort if other != name and "nfs_clients" in data.get("roles", []) %}
{%-   do clients.append(other) %}
{%- endfor %}
{%- set refusal = None %}
{%- if not name %}
{%-   set refusal = "say which host: pillar maia:remove_host:name (maia remove-host NAME)" %}
{%- elif name not in hosts %}
{%-   set refusal = name ~ " is not in the inventory (hosts: " ~ (hosts.keys() | sort | join(", ")) ~ ")" %}
{%- elif "control-plane" in roles %}
{%-   set refusal = name ~ " is the control-plane: the cluster lives there; remove the site with maia reset instead" %}
{%- elif "nfs_server" in roles %}
{%-   set refusal = name ~ " is the NFS server" ~ ((" that " ~ clients | join(", ") ~ " mount /nfs from") if clients else "") ~ ": move the nfs_server group to another host and run maia install first" %}
{%- endif %}
{%- set step_pillar = {"maia": {"prepare": maia.get("prepare", {}), "remove_host": {"name": name, "address": host.get("address")}}} %}
{{- mark_run(step_pillar, orch) }}

{%- if refusal %}

maia-remove-host-refused:
  test.configurable_test_state:  # a refusal: its reason stays the comment under test=True
    - comment: {{ ("cannot remove the host: " ~ refusal) | json }}
    - result: false
    - changes: false
    - allow_test_mode_failure: true
    - failhard: true
{%- else %}
{%-   if not ssh %}
{{ sync_step(hosts, orch) }}
{%-   endif %}

maia-remove-host-leaving:
  salt.state:
    - tgt: {{ [name] | json }}
    - tgt_type: list
{%-   if ssh %}
    - ssh: true
{%-   endif %}
    - sls: maia.hosts.leaving
    - pillar: {{ step_pillar | json }}
{%-   if not ssh %}
    - require:
      - salt: maia-orch-minions-synced
{%-   endif %}
{%-   set control_plane = [] %}
{%-   for other, data in hosts | dictsort if "control-plane" in data.get("roles", []) %}
{%-     do control_plane.append(other) %}
{%-   endfor %}
{%-   if "worker" in roles and control_plane %}
{%-     set join = join_target(maia) | load_json %}

{#- the worker leaves (when it answers), then its node is deleted (_orch_states/maia_join.py) #}
maia-remove-host-worker-removed:
  maia_join.worker_removed:
    - name: {{ control_plane[0] }}
    - worker: {{ name }}
    - distribution: {{ join.distribution }}
    - ssh: {{ ssh | json }}
    - paths: {{ join.paths | json }}
    - failhard: true
{%-     if not ssh %}
    - require:
      - salt: maia-orch-minions-synced
{%-     endif %}
{%-   endif %}
{%-   if others %}

maia-remove-host-others:
  salt.state:
    - tgt: {{ others | json }}
    - tgt_type: list
{%-   if ssh %}
    - ssh: true
{%-   endif %}
    - sls: maia.hosts.removed
    - pillar: {{ step_pillar | json }}
    - failhard: true
{%-   if not ssh %}
    - require:
      - salt: maia-orch-minions-synced
{%-   endif %}
{%-   endif %}

maia-remove-host-inventory:
  salt.runner:
    - name: maia_hosts.drop_host
    - host: {{ name }}
    - config_folder: {{ maia.get("config_folder") | json }}
    - failhard: true
{%-   if others %}
    - require:
      - salt: maia-remove-host-others
{%-   endif %}
{%-   if not ssh %}

{#- its minion matches I@ targets on its own copy of the pillar: refresh it (when it answers) #}
maia-remove-host-pillar-refreshed:
  salt.function:
    - name: saltutil.refresh_pillar
    - tgt: {{ [name] | json }}
    - tgt_type: list
    - kwarg:
        wait: true
    - require:
      - salt: maia-remove-host-inventory
{%-   endif %}
{%- endif %}
