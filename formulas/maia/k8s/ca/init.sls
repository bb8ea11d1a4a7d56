{#- The cluster CA for cert-manager (TLS secret) and Istio (ConfigMap ca.pem). #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- set ca = k8s.ca %}
{%- set from_distribution = ca.cert_file.startswith(k8s.paths.dist_dir ~ "/") %}
include:
  - {{ k8s.dist_sls }}
  - maia.k8s.oidc
{%- if k8s.enable_ca %}

maia-k8s-ca-files-present:
  maia_k8s.files_present:
    - files:
        CA certificate: {{ ca.cert_file }}
        CA key: {{ ca.key_file }}
    - missing_ok_in_test: {{ k8s.install and from_distribution }}
    - require:
      - sls: maia.k8s.oidc
{%-   for ns in [ca.secret_namespace, ca.configmap_namespace] | unique %}

maia-k8s-ca-namespace-{{ ns }}-present:
  maia_k8s.object_present:
    # same labels as maia.core.namespaces: one field manager owns them, no ping-pong between stages
    - manifest: {apiVersion: v1, kind: Namespace, metadata: {name: {{ ns }}, labels: {app.kubernetes.io/managed-by: maia-salt}}}
    - require:
      - maia_k8s: maia-k8s-ca-files-present
      - {{ k8s.kubeconfig_state.module }}: {{ k8s.kubeconfig_state.id }}
      - sls: maia.k8s.client
{%-   endfor %}

maia-k8s-ca-secret-{{ ca.secret_name }}-present:
  maia_k8s.secret_from_files:
    - name: {{ ca.secret_name }}
    - namespace: {{ ca.secret_namespace }}
    - secret_type: kubernetes.io/tls
    - files:
        tls.crt: {{ ca.cert_file }}
        tls.key: {{ ca.key_file }}
    - missing_ok_in_test: {{ k8s.install and from_distribution }}
    - require:
      - maia_k8s: maia-k8s-ca-namespace-{{ ca.secret_namespace }}-present

maia-k8s-ca-configmap-{{ ca.configmap_name }}-present:
  maia_k8s.configmap_from_files:
    - name: {{ ca.configmap_name }}
    - namespace: {{ ca.configmap_namespace }}
    - files:
        {{ ca.configmap_key }}: {{ ca.cert_file }}
    - missing_ok_in_test: {{ k8s.install and from_distribution }}
    - require:
      - maia_k8s: maia-k8s-ca-namespace-{{ ca.configmap_namespace }}-present
{%- else %}

maia-k8s-ca-skipped:
  test.succeed_without_changes:
    - name: "maia:k8s:enable_ca is false: cluster CA secret skipped"
{%- endif %}
