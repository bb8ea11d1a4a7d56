"""The lab's stage-4 services: Keycloak, Harbor, MinIO and Rancher stand-ins behind one ingress stand-in (docs/standins.md).

``python -m maia_lab.standins.admin_services --host BRIDGE --port 18443 --ca-dir DIR
--kubeconfig FILE --config-folder DIR --domain DOMAIN`` serves ``iam.<domain>`` (Keycloak),
``registry.<domain>`` (Harbor), ``minio-api.<domain>`` (MinIO) and ``mgmt.<domain>`` (Rancher) with a certificate signed by
the CA in ``--ca-dir`` (the lab's cluster CA: the API stand-in's). Keycloak imports its realm from the ConfigMap
``maia-realm-import`` it reads over the Kubernetes API (as Keycloak does at start; 503 until it
exists); Harbor's admin password is the site's (env.json ``harbor_admin_password``, or the
value maia-salt derives), read from CONFIG_FOLDER at its first request, since the lab writes
the folder after it starts the stand-ins; so are the MinIO tenant's credentials (user
``maia-admin``, env.json ``minio_admin_password``); so is Rancher's (``mgmt.<domain>``) admin password, env.json
``rancher_password``.
"""
from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path


def realm_from_configmap(kubeconfig):
    """A callable giving the realm exports of ConfigMap keycloak/maia-realm-import (None while absent)."""
    def exports():
        from kubernetes import client, config  # noqa: PLC0415
        from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

        api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
        try:
            cm = api.read_namespaced_config_map("maia-realm-import", "keycloak")
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return [json.loads((cm.data or {})["MAIA_realm.json"])]
    return exports


def site_harbor_password(config_folder):
    """A callable giving the site's Harbor admin password, read from CONFIG_FOLDER when asked."""
    def password():
        import yaml  # noqa: PLC0415

        from maia_salt.admin.context import harbor_admin_password  # noqa: PLC0415

        env = json.loads((Path(config_folder) / "env.json").read_text())
        cluster = yaml.safe_load((Path(config_folder) / f"{env['cluster_name']}.yaml").read_text()) or {}
        return env.get("harbor_admin_password") or harbor_admin_password(env["keycloak_client_secret"], cluster["domain"])
    return password


def site_minio_credentials(config_folder):
    """A callable giving the admin MinIO tenant's user (maia-admin, env.json minio_admin_password)."""
    def credentials():
        env = json.loads((Path(config_folder) / "env.json").read_text())
        return {"maia-admin": env["minio_admin_password"]}
    return credentials


def site_rancher_password(config_folder):
    """A callable giving the site's Rancher admin password (env.json ``rancher_password``, the
    chart's bootstrap password), read from CONFIG_FOLDER when asked."""
    def password():
        return json.loads((Path(config_folder) / "env.json").read_text())["rancher_password"]
    return password


def main(argv=None):
    from .harbor import HarborStandin  # noqa: PLC0415
    from .https_service import Ingress  # noqa: PLC0415
    from .keycloak_admin import KeycloakAdminStandin  # noqa: PLC0415
    from .minio import MinioStandin  # noqa: PLC0415
    from .rancher import RancherStandin  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m maia_lab.standins.admin_services", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18443)
    parser.add_argument("--ca-dir", required=True, help="folder with ca.crt and ca.key (the lab's cluster CA)")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--config-folder", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--tls-dir", default=None, help="where the server certificate goes (default: a temporary folder)")
    args = parser.parse_args(argv)
    ca_dir = Path(args.ca_dir)
    keycloak = KeycloakAdminStandin([f"iam.{args.domain}"], realm_from_configmap(args.kubeconfig))
    harbor = HarborStandin([f"registry.{args.domain}"], site_harbor_password(args.config_folder))
    minio = MinioStandin([f"minio-api.{args.domain}"], site_minio_credentials(args.config_folder))
    rancher = RancherStandin([f"mgmt.{args.domain}"], site_rancher_password(args.config_folder))
    front = Ingress({f"iam.{args.domain}": keycloak, f"registry.{args.domain}": harbor,
                     f"minio-api.{args.domain}": minio, f"mgmt.{args.domain}": rancher}, host=args.host,
                    port=args.port, ca_cert_pem=(ca_dir / "ca.crt").read_text(),
                    ca_key_pem=(ca_dir / "ca.key").read_text(), tls_dir=args.tls_dir)
    front.start()
    print(f"Keycloak, Harbor, MinIO and Rancher stand-ins on https://{args.host}:{front.port} "
          f"(iam.{args.domain}, registry.{args.domain}, minio-api.{args.domain}, mgmt.{args.domain})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    front.stop()


if __name__ == "__main__":
    main()
