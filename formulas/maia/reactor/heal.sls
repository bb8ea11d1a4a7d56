{#- Reactor SLS of self-healing (docs/operations.md, "Self-healing"): the master's reactor sends
    minion starts and the maia_heal beacon's events here (maia_salt.heal.REACTOR). Nothing is
    decided in Jinja: the event goes to the runner maia_heal.react as data, which checks it. #}
maia-heal:
  runner.maia_heal.react:
    - args:
      - tag: {{ tag | json }}
      - data: {{ data | json }}
