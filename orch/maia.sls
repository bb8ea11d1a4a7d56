{#- orch.maia: the MAIA installation across a site, in four stages.

    salt-run state.orch orch.maia
    salt-run state.orch orch.maia pillar='{"maia": {"stages": ["prepare"], "prepare": {"ufw": false}}}'
    salt-run state.orch orch.maia pillar='{"maia": {"orch": {"ssh": true}}}'   # agentless, roster hosts
    salt-run state.orch orch.maia pillar='{"maia": {"orch": {"preflight": false}}}'   # skip the preflight

    Targets: the inventory's hosts by minion id (L@ with minions, a list over salt-ssh),
    never a grain a minion sets itself; without an inventory the run stops. The stage flags given on the command line are
    passed on to every stage. A failed step stops the run (failhard) and salt-run
    exits non-zero. #}
{%- from "orch/steps.jinja" import sync_step, test_sync_step, preflight_step, stage_target, mark_run, join_target, converged_record, forget_converged, shipped_digest with context %}
{%- from "maia/map.jinja" import mapstack with context %}
{%- from "maia/k8s/distribution.jinja" import refusal with context %}
{%- set maia = pillar.get("maia", {}) %}
{%- set orch = maia.get("orch", {}) %}
{%- set ssh = orch.get("ssh", False) %}
{#- every stage, in order (maia/parameters/defaults.yaml); maia:stages picks a subset #}
{%- import_yaml "maia/parameters/defaults.yaml" as defaults %}
{%- set stages = maia.get("stages", defaults.stages) %}
{#- stage 1's settings (its defaults <- this run's pillar) decide the reboot wait #}
{%- set prepare = mapstack("prepare") | load_json %}
{%- set k8s_params = mapstack("k8s") | load_json %}
{#- maia:orch:exclude: {stage: [{id: state id}, ...]}: states a site cannot run
    (a site's own choice; the lab switches steps off with maia:prepare flags instead). #}
{%- set exclude = orch.get("exclude", {}) %}
{#- With minions Salt waits `timeout` seconds, then asks each minion (find_job) whether the job
    still runs and keeps waiting while it does: a short default makes a minion that never got the
    job (a lost publish) fail the step in minutes instead of an hour. Over salt-ssh it bounds the run. #}
{%- set timeout = orch.get("timeout", 3600 if ssh else 300) %}
{%- set unknown = stages | reject("in", defaults.stages) | list %}
{#- the stage flags given to this run (not their defaults: each host merges its own
    pillar over parameters/defaults.yaml) #}
{%- set flags = {"maia": {}} %}
{%- for stage in defaults.stages %}
{%-   do flags.maia.update({stage: maia.get(stage, {})}) %}
{%- endfor %}
{#- maia:orch:run: the maia install run that started this orchestration, passed on to its stage jobs
    so that its live progress tells them from another orchestration's #}
{{- mark_run(flags, orch) }}
{%- set refused = refusal(maia.get("cluster") or {}, maia.get("env") or {}, (maia.get("k8s") or {}).get("connect_only")) | trim if "k8s" in stages else "" %}
{#- maia:orch:skip: hosts left out of this run (maia install --skip-unreachable: their minions did not answer) #}
{%- set skip = orch.get("skip", []) %}
{%- set hosts = {} %}
{%- for name, host in maia.get("hosts", {}).items() if name not in skip %}
{%-   do hosts.update({name: host}) %}
{%- endfor %}
{%- set control_plane = [] %}
{%- for name, host in hosts | dictsort if "control-plane" in host.get("roles", []) %}
{%-   do control_plane.append(name) %}
{%- endfor %}
{#- the inventory's group workers (role worker): Kubernetes nodes that join the control plane's cluster #}
{%- set workers = [] %}
{%- for name, host in hosts | dictsort if "worker" in host.get("roles", []) %}
{%-   do workers.append(name) %}
{%- endfor %}


{%- if unknown %}

maia-orch-stages-valid:
  test.configurable_test_state:  # a refusal: its reason stays the comment under test=True
    - name: &reason1 "maia:stages has {{ unknown | join(', ') }}: use {{ defaults.stages | join(', ') }} (some or all)"
    - comment: *reason1
    - result: false
    - changes: false
    - allow_test_mode_failure: true
    - failhard: true
{%- elif refused %}

maia-orch-distribution-supported:
  test.configurable_test_state:  # a refusal: its reason stays the comment under test=True
    - name: &reason2 {{ refused | json }}
    - comment: *reason2
    - result: false
    - changes: false
    - allow_test_mode_failure: true
    - failhard: true
{%- elif not hosts %}

maia-orch-inventory-present:
  test.configurable_test_state:  # a refusal: its reason stays the comment under test=True
    - name: &reason3 "no hosts in pillar maia:hosts: write inventory.yaml in CONFIG_FOLDER (maia-configure import-inventory) and configure the maia ext_pillar"
    - comment: *reason3
    - result: false
    - changes: false
    - allow_test_mode_failure: true
    - failhard: true
{%- else %}
{%- set preflight = orch.get("preflight", True) %}
{#- Under test=True on a site where no stage 2 has run yet (CONFIG_FOLDER has no
    <cluster>-kubeconfig.yaml, which the fetch after stage 2 writes), stages 3 and 4 find no
    cluster to read: their states predict an empty one, everything created. maia:orch:plan names
    this plan, so that a later step of it (the dashboard step) compares with what its earlier steps
    would have made (_utils/maia_plan_overlay.py; docs/orchestration.md, "The plan on a new site") #}
{%- set new_site = {"plan": ""} %}
{%- if opts.get("test") %}
{%-   from "maia/k8s/mapdata.jinja" import mapdata as k8s_map with context %}
{%-   if not salt["file.file_exists"](k8s_map.paths.export_kubeconfig) %}
{%-     do new_site.update({"plan": orch.get("run") or salt["test.random_hash"](size=64, hash_type="sha256")[:16]}) %}
{%-     do flags.maia.update({"orch": dict(flags.maia.get("orch") or {}, plan=new_site.plan)}) %}
{%-   endif %}
{%- endif %}
{#- with minions, the first step brings the modules up to date: the preflight's own job does
    it (one job on a converged site), or a sync step when the preflight is off #}
{%- set first = "maia-orch-preflight" if preflight else "maia-orch-minions-synced" %}
{#- maia:orch:exported: {control-plane host: the digest of the pair last fetched from it} (the
    runner's record, "" when CONFIG_FOLDER has no pair): stage 2's last export state reports a
    change when the host exports something else now, and only then the fetch runs (onchanges) #}
{%- set exported = {} %}
{%- if "k8s" in stages %}
{%-   from "maia/k8s/mapdata.jinja" import mapdata as k8s_here with context %}
{%-   set here = k8s_here.paths.export_kubeconfig.rsplit("/", 1)[0] %}
{%-   set have_pair = salt["file.file_exists"](k8s_here.paths.export_kubeconfig) and salt["file.file_exists"](here ~ "/ca.crt") %}
{%-   for host in control_plane %}
{%-     set record = here ~ "/.maia-kube/exported-" ~ host ~ ".sha256" %}
{%-     set digest = salt["file.read"](record) | trim if have_pair and salt["file.file_exists"](record) else "" %}
{%-     do exported.update({host: digest if digest | regex_match("^([0-9a-f]{64})$") else ""}) %}
{%-   endfor %}
{%- endif %}
{%- set wait_reboots = "prepare" in stages and prepare.nvidia_drivers | to_bool and prepare.nvidia_reboot | to_bool %}
{%- set join_workers = "k8s" in stages and workers and control_plane and not k8s_params.connect_only %}
{#- the stage SLS each host gets, in stage order: what the stage steps below apply to it #}
{%- set parts = {} %}
{%- for name, host in hosts | dictsort %}
{%-   set roles = host.get("roles", []) %}
{%-   set mine = [] %}
{%-   for stage in defaults.stages if stage in stages %}
{%-     if stage == "prepare" or "control-plane" in roles %}
{%-       do mine.append("maia." ~ stage) %}
{%-     elif stage == "k8s" and join_workers and "worker" in roles %}
{%-       do mine.append("maia.k8s.worker") %}
{%-     endif %}
{%-   endfor %}
{%-   if mine %}
{%-     do parts.update({name: mine}) %}
{%-   endif %}
{%- endfor %}
{#- One job per host (docs/orchestration.md, "One job per host on a converged site"): when the
    last run on record here ended with every step done and had the same inputs (this run's
    pillar maia, stage flags and inventory included), every host applies its stages in one job,
    in stage order, instead of one job per stage with stage 1 on every host first. The record
    is taken away as a run starts and written again by its last step. #}
{%- set converged_at = converged_record() %}
{#- not inputs: this run's mark, and the switch of this very path; an input: the code the
    minions get (a one-job run has no module sync). A plan neither runs one job nor records,
    so it skips the digest (the shipped code's hashes cost about 0.25 s) #}
{%- set inputs_digest = "" if opts.get("test") else
                        salt["hashutil.sha256_digest"](dict(maia, orch=dict(orch, run=None, one_job=None),
                                                            shipped=shipped_digest() | trim) | json) %}
{%- set last_converged = salt["file.read"](converged_at) | trim if salt["file.file_exists"](converged_at) else "" %}
{#- a host with one part and no preflight has one job already; the preflight's own job is one
    more, which the one job saves (the preflight becomes its first state) #}
{%- set saves_a_job = (parts.values() | map("length") | max > 1 or preflight) if parts else false %}
{%- set one_job = orch.get("one_job", True) | to_bool and not opts.get("test") and saves_a_job
                  and last_converged == inputs_digest %}
{#- in a one-job run a driver's reboot comes after the host's last stage (its state is order: last);
    the steps after the job wait for it as stage 2 does in a run of stage jobs #}
{%- set after_reboots = "      - salt: maia-orch-nvidia-reboots-waited" if one_job and wait_reboots else "" %}
{{- forget_converged() }}
{%- set step = {} %}
{%- for stage in ["prepare", "k8s", "workers", "core", "admin"] %}
{%-   do step.update({stage: "maia-orch-stages" if one_job else "maia-orch-stage-" ~ stage.replace("workers", "k8s-workers")}) %}
{%- endfor %}
{%- if not ssh and not preflight and not one_job %}
{{ sync_step(hosts, orch) }}
{%- endif %}

{#- under test=True Salt skips the runner steps, the sync among them: on a fresh site the minions
    have none of maia-salt's modules yet, so the plan syncs them with a state of its own #}
{%- set test_sync = opts.get("test") and not ssh %}
{%- if test_sync %}
{{ test_sync_step(hosts, orch) }}
{%- endif %}

{%- if preflight and not one_job %}
{#- read-only checks of every host and the site; any error stops here, before a change #}
{{ preflight_step(maia, hosts, ssh, true, orch) }}
{%- elif preflight %}

{#- a one-job run: the site's CONFIG_FOLDER here, each host's own checks first in its job (maia.preflight) #}
maia-orch-site-checked:
  maia_orch.site_checked:
    - name: {{ maia.get("config_folder") | json }}
    - lvm: {{ prepare.lvm | to_bool | json }}
{%-   if "admin" in stages %}
    - admin: {{ mapstack("admin") | trim }}
{%-   endif %}
    - failhard: true
{%-   set max_skew = (maia.get("preflight") or {}).get("max_clock_skew", 5) %}
{#-   the master's clock now, which each host's clock is checked against; slack: the seconds
      the job may take to reach a host (over salt-ssh the master renders every host's states first) #}
{%-   set clock = {"at": salt["status.time"]("%s.%f") | float, "max_skew": max_skew,
                   "slack": orch.get("clock_slack", 30 if ssh else 10)} %}
{%-   for name in parts %}
{%-     do parts.update({name: ["maia.preflight"] + parts[name]}) %}
{%-   endfor %}
{%- endif %}

{%- if one_job %}

maia-orch-stages:
  salt.state:
{{ stage_target(parts, ssh) }}
    - sls: maia
    - pillar: {{ {"maia": dict(flags.maia, orch=dict(flags.maia.get("orch") or {}, exported=exported, parts=parts,
                                                       clock=clock if preflight else None))} | json }}
    - timeout: {{ timeout }}
{%-   set excluded = [] %}
{%-   for stage in stages %}
{%-     do excluded.extend(exclude.get(stage) or []) %}
{%-   endfor %}
{%-   if excluded %}
    - exclude: {{ excluded | json }}
{%-   endif %}
    - failhard: true
{%-   if preflight %}
    - require:
      - maia_orch: maia-orch-site-checked
{%-   endif %}
{%- endif %}

{%- if "prepare" in stages and not one_job %}

maia-orch-stage-prepare:
  salt.state:
{{ stage_target(hosts, ssh) }}
    - sls: maia.prepare
    - pillar: {{ flags | json }}
    - timeout: {{ timeout }}
{%- if exclude.get("prepare") %}
    - exclude: {{ exclude["prepare"] | json }}
{%- endif %}
    - failhard: true
{%- if not ssh %}
    - require:
      - salt: {{ first }}
{%-   if test_sync %}
      - maia_orch: maia-orch-minions-synced-for-the-plan
{%-   endif %}
{%- endif %}
{%- endif %}

{%- if wait_reboots %}

maia-orch-nvidia-reboots-waited:
  salt.runner:
    - name: maia_orch.wait_for_reboots
{{ stage_target(hosts, ssh) }}
    - timeout: {{ prepare.nvidia_reboot_timeout }}
    {#- a reboot is only ever scheduled by a stage 1 run that changed something #}
    - onchanges:
      - salt: {{ step.prepare }}
{%- endif %}

{%- if "k8s" in stages %}
{%-   if not one_job %}

maia-orch-stage-k8s:
  salt.state:
{{ stage_target(hosts, ssh, "control-plane") }}
    - sls: maia.k8s
    - pillar: {{ {"maia": dict(flags.maia, orch=dict(flags.maia.get("orch") or {}, exported=exported))} | json }}
    - timeout: {{ timeout }}
{%- if exclude.get("k8s") %}
    - exclude: {{ exclude["k8s"] | json }}
{%- endif %}
    - failhard: true
{%- if "prepare" in stages %}
    - require:
      - salt: maia-orch-stage-prepare
{%-   if wait_reboots %}
      - salt: maia-orch-nvidia-reboots-waited
{%-   endif %}
{%- endif %}
{%-   endif %}
{%- for host in control_plane %}

maia-orch-kubeconfig-fetched-{{ host }}:
  salt.runner:
    - name: maia_kubeconfig.fetch_kubeconfig
    - tgt: {{ host }}
    - ssh: {{ ssh }}
    {#- what the kubeconfig's server must be (the runner refuses any other) #}
    - api_port: {{ k8s_params.api_port }}
    - api_server_url: {{ k8s_params.api_server_url | json }}
    - require:
      - salt: {{ step.k8s }}
{{ after_reboots }}
    - onchanges:
      - salt: {{ step.k8s }}
{%- endfor %}
{%-   if join_workers %}
{%-     set join = join_target(maia) | load_json %}
{%-     set cp = hosts[control_plane[0]] %}
{%-     if not one_job %}
{#- the workers: the distribution's agent installed and configured, nothing started (maia.k8s.worker) #}
maia-orch-stage-k8s-workers:
  salt.state:
{{ stage_target(hosts, ssh, "worker") }}
    - sls: maia.k8s.worker
    - pillar: {{ flags | json }}
    - timeout: {{ timeout }}
    - failhard: true
    - require:
      - salt: maia-orch-stage-k8s
{%-     endif %}

{#- each worker that is no node yet joins with a short-lived token sealed to it (_orch_states/maia_join.py) #}
maia-orch-workers-joined:
  maia_join.workers_joined:
    - name: {{ control_plane[0] }}
    - workers: {{ workers | json }}
    - distribution: {{ join.distribution }}
    - server: {{ (cp.get("address") or cp.get("ip") or control_plane[0]) | json }}
    - ssh: {{ ssh | json }}
    - paths: {{ join.paths | json }}
    - retries: {{ k8s_params.wait_ready.retries * 4 }}
    - interval: {{ k8s_params.wait_ready.interval }}
    - failhard: true
    - require:
      - salt: {{ step.workers }}
{{ after_reboots }}
{%-   endif %}
{%- endif %}

{%- if "core" in stages %}
{%-   if not one_job %}

maia-orch-stage-core:
  salt.state:
{{ stage_target(hosts, ssh, "control-plane") }}
    - sls: maia.core
    - pillar: {{ flags | json }}
    - timeout: {{ timeout }}
{%- if exclude.get("core") %}
    - exclude: {{ exclude["core"] | json }}
{%- endif %}
    - failhard: true
{%- if "k8s" in stages %}
    - require:
      - salt: maia-orch-stage-k8s
{%- elif "prepare" in stages %}
    - require:
      - salt: maia-orch-stage-prepare
{%- endif %}
{%-   endif %}
{%-   if (maia.get("core") or {}).get("extra_commands") %}

{#- the site's maia:core:extra_commands, here on the controller, with the fetched
    kubeconfig, after the core layer as the collection runs them (_runners/maia_commands.py
    reads them from the site's pillar, not from this run's) #}
maia-orch-core-extra-commands-run:
  salt.runner:
    - name: maia_commands.core_extra_commands
    - failhard: true
    - require:
      - salt: {{ step.core }}
{{ after_reboots }}
{%-   endif %}
{%- endif %}

{%- if "admin" in stages %}
{%-   set after = (["core", "k8s", "prepare"] | select("in", stages) | list)[:1] %}
{%-   if not one_job %}

maia-orch-stage-admin:
  salt.state:
{{ stage_target(hosts, ssh, "control-plane") }}
    - sls: maia.admin
    - pillar: {{ flags | json }}
    - timeout: {{ timeout }}
{%- if exclude.get("admin") %}
    - exclude: {{ exclude["admin"] | json }}
{%- endif %}
    - failhard: true
{%- if after %}
    - require:
      - salt: maia-orch-stage-{{ after[0] }}
{%- endif %}
{%-   endif %}
{%-   set admin_params = mapstack("admin") | load_json %}
{%-   if admin_params.enabled and admin_params.configure.rancher and admin_params.apps.rancher.get("enabled", True) and control_plane %}

{#- Rancher's token and CONFIG_FOLDER/local.yaml, written on the controller (docs/admin.md,
    "Rancher"); the next step gives the token to the dashboard through the pillar. A state of
    maia-salt's own (_orch_states/maia_rancher.py) around the runner maia_rancher.local_kubeconfig,
    not salt.runner, so that test=True predicts it #}
maia-orch-rancher-local-kubeconfig:
  maia_rancher.local_kubeconfig_recorded:
    - name: {{ control_plane[0] }}
    - services: {{ admin_params.services | json }}
    - failhard: true
    - require:
      - salt: {{ step.admin }}
{{ after_reboots }}

{#- the admin Applications again, the dashboard's values now with that token (maia.admin.dashboard) #}
maia-orch-stage-admin-dashboard:
  salt.state:
{{ stage_target(hosts, ssh, "control-plane") }}
    - sls: maia.admin.dashboard
{%-     if new_site.plan %}
    {#- the token the Rancher step records on a new site (under test it records none) #}
    - pillar: {{ {"maia": dict(flags.maia, env={"rancher_token": "<recorded by the Rancher step>"})} | json }}
{%-     else %}
    - pillar: {{ flags | json }}
{%-     endif %}
    - timeout: {{ timeout }}
    - failhard: true
    - require:
      - maia_rancher: maia-orch-rancher-local-kubeconfig
{%-     if one_job %}
    {#- the one job applied the dashboard with the token on record: again only for a new one #}
    - onchanges:
      - maia_rancher: maia-orch-rancher-local-kubeconfig
{%-     endif %}
{%-   endif %}
{%- endif %}
{%- if not opts.get("test") %}

{#- every step done: the next run with the same inputs may run one job per host #}
maia-run-converged-recorded:
  maia_orch.converged_recorded:
    - digest: {{ inputs_digest }}
    - require:
      - salt: "maia-orch-*"
{%- endif %}
{%- endif %}
