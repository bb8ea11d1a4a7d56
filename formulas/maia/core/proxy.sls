{#- A site behind an HTTP proxy (maia:cluster:proxy_ip): Kyverno's ClusterPolicy
    (maia:core:proxy_policy) that puts HTTP_PROXY, HTTPS_PROXY and NO_PROXY, in both
    cases, into every container of every Pod it matches, with the values stage 1 gives
    the hosts (maia/proxy.jinja). Applied once Kyverno's wave is Synced and Healthy (its
    CRDs served), before any later wave starts a Pod. Without proxy_ip (or with the
    kyverno app switched off) nothing here. #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- set parameters = salt["maia_map.stage"](tpldir.split("/")[1]).parameters %}
{%- from "maia/proxy.jinja" import proxy_settings with context %}
{%- set proxy = proxy_settings() | load_json %}
{%- set kyverno = mapdata.apps | selectattr("component", "equalto", "kyverno") | first | default(none) %}
{%- if proxy and kyverno %}
{%-   set policy = parameters.proxy_policy %}
{%-   set env = [] %}
{%-   for name in ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"] %}
{%-     set value = proxy.no_proxy if name == "NO_PROXY" else proxy.url %}
{%-     do env.extend([{"name": name, "value": value}, {"name": name | lower, "value": value}]) %}
{%-   endfor %}
{%-   set rule = {"name": "inject-proxy",
                  "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                  "mutate": {"patchStrategicMerge": {"spec": {"containers": [{"(name)": "?*", "env": env}]}}}} %}
{%-   if policy.exclude %}
{%-     do rule.update({"exclude": {"any": policy.exclude}}) %}
{%-   endif %}
{%-   set wave = kyverno.sync_wave | int %}
include:
  - .sync

maia-core-proxy-policy-present:
  maia_k8s.object_present:
    - name: {{ policy.name }}
    - kubeconfig: {{ mapdata.kubeconfig }}
    - manifest: {{ {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                    "metadata": {"name": policy.name}, "spec": {"rules": [rule]}} | json }}
    - require:
{%-   if mapdata.auto_sync %}
      - maia_argocd: maia-core-sync-wave-{{ wave }}
    - require_in:
{%-     for later in mapdata.apps | selectattr("sync_stage", "equalto", "core") | map(attribute="sync_wave") | map("int") | unique | sort if later > wave %}
      - maia_argocd: maia-core-sync-wave-{{ later }}
{%-     endfor %}
{%-   else %}
      - maia_argocd: maia-core-app-kyverno-present
{%-   endif %}
{%- endif %}
