{#- A site behind an HTTP proxy (maia:cluster:proxy_ip): the proxy variables in
    /etc/environment of every host, an older value of the same variable replaced
    (the collection's configure_host.yaml sets the same six). Without proxy_ip:
    nothing. #}
{%- from "maia/proxy.jinja" import proxy_settings with context %}
{%- set proxy = proxy_settings() | load_json %}
{%- if proxy %}
{%-   for name, value in proxy.host_environment.items() %}

maia-prepare-proxy-environment-{{ name }}-set:
  file.keyvalue:
    - name: /etc/environment
    - key: {{ name }}
    - value: {{ value | json }}
    - separator: "="
    - append_if_not_found: true
{%-   endfor %}
{%- else %}

maia-prepare-proxy-skipped:
  test.succeed_without_changes:
    - name: "maia:cluster:proxy_ip is not set: no proxy environment"
{%- endif %}
