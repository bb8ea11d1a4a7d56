{#- Stage 4 of `maia reset`: the admin layer (reset/layer.jinja). #}
{%- set layer = "admin" %}
{%- include "maia/reset/layer.jinja" %}
