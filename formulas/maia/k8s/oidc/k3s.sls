{#- OIDC flags of the k3s API server: kube-apiserver-arg entries merged into
    /etc/rancher/k3s/config.yaml (an older value of the same flag is replaced, other
    entries stay); k3s restarts only when an entry changed (maia-k8s-k3s-running). #}
{%- from "maia/k8s/map.jinja" import mapdata as k8s with context %}
include:
  - maia.k8s.k3s
{%- if k8s.enable_oidc %}

maia-k8s-oidc-domain-set:
  test.check_pillar:
    - string: [maia:cluster:domain]
{%-   if not k8s.oidc.ca_file.startswith(k8s.paths.dist_dir ~ "/") %}

{#- externalCA.cert (or maia:k8s:oidc:ca_file): a file the site provides, so it
    must exist before the API server is pointed at it #}
maia-k8s-oidc-ca-file-present:
  maia_k8s.files_present:
    - files:
        OIDC CA certificate (externalCA.cert): {{ k8s.oidc.ca_file }}
    - require_in:
      - maia_k8s_dist: maia-k8s-oidc-k3s-settings-merged
{%-   endif %}

maia-k8s-oidc-k3s-settings-merged:
  maia_k8s_dist.settings_merged:
    - name: {{ k8s.paths.k3s_config }}
    - settings: {{ k8s.k3s_oidc_settings | json }}
    - require:
      - test: maia-k8s-oidc-domain-set
{%-   if k8s.install %}
      - maia_k8s_dist: maia-k8s-k3s-settings-merged
{%-   endif %}
    - watch_in:
      - maia_k8s_dist: maia-k8s-k3s-running
{%- else %}

maia-k8s-oidc-skipped:
  test.succeed_without_changes:
    - name: "maia:k8s:enable_oidc_k3s is false: OIDC flags skipped"
{%- endif %}
