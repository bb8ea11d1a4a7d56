{#- Stage 3 of `maia reset`: the core layer (reset/layer.jinja). #}
{%- set layer = "core" %}
{%- include "maia/reset/layer.jinja" %}
