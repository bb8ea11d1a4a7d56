{#- Remove the OIDC flags; restart MicroK8s only when one was removed. #}
{%- set k8s = salt["maia_map.stage"]("k8s").mapdata %}

maia-k8s-oidc-clean-apiserver-args-absent:
  maia_microk8s.args_absent:
    - name: {{ k8s.paths.apiserver_args }}
    - flags: [--oidc-username-claim, --oidc-groups-claim, --oidc-issuer-url, --oidc-client-id, --oidc-ca-file]

maia-k8s-oidc-clean-microk8s-restarted-when-changed:
  maia_microk8s.restarted:
    - retries: {{ k8s.wait_ready.retries }}
    - interval: {{ k8s.wait_ready.interval }}
    - timeout: {{ k8s.wait_ready.timeout }}
    - microk8s_cmd: {{ k8s.microk8s_cmd }}
    - onlyif:
      - fun: maia_snap.info
        name: microk8s
        snap_cmd: {{ k8s.snap_cmd }}
    - onchanges:
      - maia_microk8s: maia-k8s-oidc-clean-apiserver-args-absent
