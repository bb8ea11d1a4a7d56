"""What the core Applications' values share: the chart coordinates the toolkit keeps in every
values file, secrets derived from the site's secrets, the identity provider's address and
client secret, and the TLS annotations and ``tls`` entries of an Ingress.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from .context import App, Context


def derived_secret(key: str, purpose: str, length: int = 32) -> str:
    """A secret derived from the site secret ``key`` and ``purpose``.

    Stable across runs (a re-run changes nothing) and different per purpose
    and site; stands in for the tokens the toolkit draws at random per run.
    """
    digest = hmac.new(str(key).encode(), purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=").replace("-", "_")[:length]


def chart_coordinates(app: App) -> dict:
    """The chart keys the toolkit keeps in every values file."""
    out = {"namespace": app.namespace, "chart_version": app.version, "repo_url": app.repo}
    if app.chart:
        out["chart_name"] = app.chart
    else:
        out["path"] = app.path
    return out


def iam_url(ctx: Context) -> str:
    return f"https://iam.{ctx.domain}/realms/maia"


def client_secret(ctx: Context) -> str:
    return str(ctx.env.get("keycloak_client_secret") or "")


def ingress_annotations(ctx: Context) -> dict:
    """TLS for an Ingress: Traefik's websecure entry point and ACME resolver, or
    cert-manager's issuer on nginx."""
    if ctx.traefik:
        annotations = {
            "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
            "traefik.ingress.kubernetes.io/router.tls": "true",
        }
        if not ctx.selfsigned:
            annotations["traefik.ingress.kubernetes.io/router.tls.certresolver"] = ctx.resolver
        return annotations
    if ctx.ingress_class == "nginx":
        return {"cert-manager.io/cluster-issuer": "kubernetes-ca-issuer" if ctx.selfsigned else "cluster-issuer"}
    return {}


def tls(ctx: Context, host: str, secret_name: str) -> list:
    entry = {"hosts": [host]}
    if ctx.ingress_class == "nginx":
        entry["secretName"] = secret_name
    return [entry]


