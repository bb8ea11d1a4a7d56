{%- from "memo/map.jinja" import mapdata, seen with context %}
{#- a change that the other files must not see #}
{%- do mapdata.update({"changed_by": "a"}) %}
memo-a:
  test.succeed_without_changes:
    - name: {{ ((mapdata | json) ~ " " ~ seen) | json }}
