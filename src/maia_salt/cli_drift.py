"""``maia drift``: the command line of :mod:`maia_salt.drift`, registered on ``maia`` by cli.py
with cli's shared options and its checks before a run."""
from __future__ import annotations

import sys

import click

from . import checks, cli


@cli.main.command()
@cli._SALT_CONFIG  # pylint: disable=protected-access
@cli._SSH  # pylint: disable=protected-access
@click.option("--stages", default=None, callback=checks.install_stages, help="Comma-separated subset of prepare,k8s,core,admin.")
@cli._PILLAR  # pylint: disable=protected-access
@cli._JSON  # pylint: disable=protected-access
def drift(salt_config, ssh, stages, pillar_json, pillar_file, as_json):
    """Check every host against the site's configuration, changing nothing: each stage with
    test=True (orch.maia), and per host and stage each state that would change.
    Exit 0 no drift, 3 drift found, 1 the check failed somewhere, 2 bad input."""
    # pylint: disable=protected-access
    from . import drift as drift_check
    from . import jsonout, plan
    from .install import run_orchestration

    extra = cli._extra_pillar(pillar_json, pillar_file)
    hosts = cli._site_checked(salt_config, extra)
    cli._absent(salt_config, hosts, ssh, False, as_json, True, command="drift")
    click.echo(f"checking for drift: orch.maia with test=True ({'salt-ssh' if ssh else 'minions'}) "
               f"with {salt_config} ...", err=True)
    report = cli.run_with_progress(run_orchestration, salt_config, stages, ssh=ssh, pillar=extra, test=True,
                                   json_command="drift" if as_json else None)
    code = drift_check.exit_code(report)
    if as_json:
        click.echo(jsonout.dumps(jsonout.of_drift(report, code)))
        sys.exit(code)
    click.echo(report.render())
    click.echo(plan.render(report.results))
    click.echo(drift_check.verdict(report))
    sys.exit(code)
