{#- With externalCA in the cluster YAML: its CA certificate as a Secret in
    maia-dashboard (key public.crt), which the admin toolkit's MinIO tenant trusts.
    The certificate is read by the library (on the master under salt-ssh) and
    sent as data; changes name the fields, never the values. #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}

include:
  - .namespaces

{%- for secret in mapdata.secrets %}

maia-admin-secret-{{ secret.name }}-present:
  maia_k8s.object_present:
    - kubeconfig: {{ mapdata.kubeconfig }}
    - manifest:
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ secret.name }}
          namespace: {{ secret.namespace }}
          labels:
            app.kubernetes.io/managed-by: maia-salt
        type: {{ secret.type }}
        data:
{%-   for key, text in secret.string_data | dictsort %}
          {{ key | json }}: {{ text | base64_encode | json }}
{%-   endfor %}
    - require:
      - sls: {{ tpldir | replace('/', '.') }}.namespaces
{%- endfor %}
