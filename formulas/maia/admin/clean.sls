{#- Stage 4's clean: maia/core/clean.sls rendered with the admin layer's data
    (map.jinja here); with maia:admin:enabled false, one skipped state. #}
{%- set mapdata = salt["maia_map.stage"](tpldir.split("/")[1]).mapdata %}
{%- include "maia/core/clean.sls" if mapdata.enabled else "maia/admin/skipped.jinja" %}
