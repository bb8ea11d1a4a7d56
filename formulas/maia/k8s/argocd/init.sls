{#- ArgoCD: namespace, admin password, pinned install manifest (sha256 checked,
    server-side apply, CRDs Established first), automation service account. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}
{%- set argocd = k8s.argocd %}
{%- set ns = argocd.namespace %}
include:
  - {{ k8s.dist_sls }}
  - maia.k8s.oidc
  - maia.k8s.ca
{%- if k8s.install_argocd %}

maia-k8s-argocd-namespace-present:
  maia_k8s.object_present:
    # same labels as maia.core.namespaces: one field manager owns them, no ping-pong between stages
    - manifest: {apiVersion: v1, kind: Namespace, metadata: {name: {{ ns }}, labels: {app.kubernetes.io/managed-by: maia-salt}}}
    - require:
      - sls: maia.k8s.oidc
      - sls: maia.k8s.ca
      - {{ k8s.kubeconfig_state.module }}: {{ k8s.kubeconfig_state.id }}
      - sls: maia.k8s.client

maia-k8s-argocd-admin-password-set:
  maia_k8s.argocd_admin_password:
    - name: argocd-secret
    - namespace: {{ ns }}
    - require:
      - maia_k8s: maia-k8s-argocd-namespace-present

maia-k8s-argocd-manifest-downloaded:
  file.managed:
    - name: {{ argocd.manifest_path }}
    - source: {{ argocd.manifest_url }}
    - source_hash: sha256={{ argocd.manifest_sha256 }}
    - makedirs: true
    - mode: '0644'

maia-k8s-argocd-manifest-applied:
  maia_k8s.manifest_applied:
    - name: {{ argocd.manifest_path }}
    - sha256: {{ argocd.manifest_sha256 }}
    - namespace: {{ ns }}
    - timeout: {{ argocd.crd_timeout }}
    - require:
      - file: maia-k8s-argocd-manifest-downloaded
      - maia_k8s: maia-k8s-argocd-admin-password-set

maia-k8s-argocd-service-account-present:
  maia_k8s.object_present:
    - manifest:
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: {{ argocd.service_account }}, namespace: {{ ns }}}
    - require:
      - maia_k8s: maia-k8s-argocd-manifest-applied

maia-k8s-argocd-service-account-admin-bound:
  maia_k8s.object_present:
    - manifest:
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: {{ argocd.role_binding }}, namespace: {{ ns }}}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {{ argocd.cluster_role }}}
        subjects:
          - {kind: ServiceAccount, name: {{ argocd.service_account }}, namespace: {{ ns }}}
    - require:
      - maia_k8s: maia-k8s-argocd-service-account-present
{%-   for entry in argocd.extra_commands %}
{%-     set command = entry if entry is mapping else {"name": entry} %}

maia-k8s-argocd-extra-command-{{ loop.index }}:
  cmd.run:
    - name: {{ command.name | json }}
{%-     for key in ["unless", "onlyif", "cwd", "runas"] %}
{%-       if command.get(key) %}
    - {{ key }}: {{ command[key] | json }}
{%-       endif %}
{%-     endfor %}
    - env:
        KUBECONFIG: {{ k8s.kubeconfig }}
{%-     for key, value in (command.get("env") or {}).items() %}
        {{ key }}: {{ value | json }}
{%-     endfor %}
    - require:
      - maia_k8s: maia-k8s-argocd-service-account-admin-bound
{%-   endfor %}
{%- elif k8s.connect_to_argocd %}

maia-k8s-argocd-crds-established:
  maia_k8s.crds_established:
    - crds: [applications.argoproj.io, appprojects.argoproj.io]
    - timeout: {{ argocd.crd_timeout }}
    - require:
      - {{ k8s.kubeconfig_state.module }}: {{ k8s.kubeconfig_state.id }}
      - sls: maia.k8s.client
{%- else %}

maia-k8s-argocd-skipped:
  test.succeed_without_changes:
    - name: "maia:k8s:install_argocd and connect_to_argocd are false: ArgoCD skipped"
{%- endif %}
