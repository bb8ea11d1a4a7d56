{#- Remove the proxy variables maia.prepare.proxy set from /etc/environment. #}

maia-prepare-proxy-clean-environment-absent:
  file.replace:
    - name: /etc/environment
    - pattern: '^(http_proxy|https_proxy|no_proxy|HTTP_PROXY|HTTPS_PROXY|NO_PROXY)=.*\n'
    - repl: ''
    - ignore_if_missing: true
