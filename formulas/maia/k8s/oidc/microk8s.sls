{#- OIDC flags on the MicroK8s API server; restart only when a line changed. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
include:
  - maia.k8s.microk8s
{%- if k8s.enable_oidc_microk8s %}

maia-k8s-oidc-domain-set:
  test.check_pillar:
    - string: [maia:cluster:domain]

{%- if not k8s.oidc.ca_file.startswith(k8s.paths.dist_dir ~ "/") %}

{#- externalCA.cert (or maia:k8s:oidc:ca_file): a file the site provides, so it
    must exist before the API server is pointed at it #}
maia-k8s-oidc-ca-file-present:
  maia_k8s.files_present:
    - files:
        OIDC CA certificate (externalCA.cert): {{ k8s.oidc.ca_file }}
    - require_in:
      - maia_microk8s: maia-k8s-oidc-apiserver-args-set
{%- endif %}

maia-k8s-oidc-apiserver-args-set:
  maia_microk8s.args_present:
    - name: {{ k8s.paths.apiserver_args }}
    - flags:
        --oidc-username-claim: {{ k8s.oidc.username_claim }}
        --oidc-groups-claim: {{ k8s.oidc.groups_claim }}
        --oidc-issuer-url: {{ k8s.oidc.issuer_url }}
        --oidc-client-id: {{ k8s.oidc.client_id }}
        --oidc-ca-file: {{ k8s.oidc.ca_file }}
    - require:
      - test: maia-k8s-oidc-domain-set
      - maia_microk8s: maia-k8s-microk8s-ready

maia-k8s-oidc-microk8s-restarted-when-changed:
  maia_microk8s.restarted:
    - retries: {{ k8s.wait_ready.retries }}
    - interval: {{ k8s.wait_ready.interval }}
    - timeout: {{ k8s.wait_ready.timeout }}
    - microk8s_cmd: {{ k8s.microk8s_cmd }}
    - onchanges:
      - maia_microk8s: maia-k8s-oidc-apiserver-args-set
{%- else %}

maia-k8s-oidc-skipped:
  test.succeed_without_changes:
    - name: "maia:k8s:enable_oidc_microk8s is false: OIDC flags skipped"
{%- endif %}
