"""maia.k8s on bad input or a broken cluster: clear failure, nothing changed after that point.

STAND-INS: MicroK8s stand-in and Kubernetes API stand-in (this machine runs
neither snapd/MicroK8s nor a kube-apiserver, see docs/standins.md). These cases
need a disposable API, so they do not run against MAIA_E2E_KUBECONFIG.
"""
from k8s.harness import changed_ids, failed


def test_wrong_manifest_checksum_applies_nothing(fresh_api, new_site):
    site = new_site(fresh_api, {"maia": {"k8s": {"argocd": {"manifest_sha256": "0" * 64}}}})
    rc, data, proc = site.apply()
    assert rc != 0
    errors = failed(data)
    assert "maia-k8s-argocd-manifest-downloaded" in errors
    assert "0" * 64 in errors["maia-k8s-argocd-manifest-downloaded"] or "checksum" in errors[
        "maia-k8s-argocd-manifest-downloaded"
    ].lower()
    assert set(errors) >= {
        "maia-k8s-argocd-manifest-applied",
        "maia-k8s-argocd-service-account-present",
        "maia-k8s-argocd-service-account-admin-bound",
    }
    crd = fresh_api.get_object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "applications.argoproj.io")
    assert crd is None
    assert fresh_api.get_object("v1", "ServiceAccount", "argocd-sa", "argocd") is None


def test_tampered_cached_manifest_is_replaced_not_applied(fresh_api, new_site):
    """A cached manifest that no longer matches the pinned sha256 is fetched again, never applied."""
    site = new_site(fresh_api)
    cache = site.root / "var" / "cache" / "maia"
    cache.mkdir(parents=True)
    (cache / "argocd-v3.5.1-install.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: evil}\n")
    rc, data, _ = site.apply()
    # file.managed replaces the tampered file from the URL (its hash differs) and the apply checks again
    assert rc == 0, failed(data)
    assert fresh_api.get_object("v1", "Namespace", "evil") is None


def test_missing_external_ca_stops_before_any_cluster_change(fresh_api, new_site):
    """externalCA.cert is the OIDC CA file: a missing one stops before the API server
    args change and before any object reaches the cluster."""
    site = new_site(fresh_api, {"maia": {"cluster": {"externalCA": {"name": "ext-ca", "cert": "/nonexistent/ca.crt"}}}})
    rc, data, _ = site.apply()
    assert rc != 0
    errors = failed(data)
    msg = errors["maia-k8s-oidc-ca-file-present"]
    assert "/nonexistent/ca.crt" in msg and "externalCA" in msg
    assert "maia-k8s-oidc-apiserver-args-set" in errors
    assert "--oidc-ca-file=/nonexistent/ca.crt" not in site.standin.apiserver_args_file().read_text()
    for ns in ("cert-manager", "istio-system", "argocd"):
        assert fresh_api.get_object("v1", "Namespace", ns) is None
    assert fresh_api.get_object("v1", "Secret", "kubernetes-ca", "cert-manager") is None


def test_missing_ca_fails_test_mode_too_when_microk8s_is_not_installed_by_us(fresh_api, new_site):
    site = new_site(fresh_api, {"maia": {"k8s": {"ca": {"cert_file": "/nonexistent/ca.crt"}}}})
    rc, data, _ = site.apply(test=True)
    assert rc != 0
    assert "/nonexistent/ca.crt" in failed(data)["maia-k8s-ca-files-present"]


def test_never_ready_fails_clearly_and_stops(fresh_api, new_site):
    site = new_site(fresh_api, {"maia": {"k8s": {"wait_ready": {"retries": 2, "interval": 0, "timeout": 1}}}})
    site.standin.update_state(never_ready=True, wait_ready_sleep=0)
    rc, data, _ = site.apply()
    assert rc != 0
    errors = failed(data)
    assert "did not become ready after 2 checks" in errors["maia-k8s-microk8s-ready"]
    waits = [c for c in site.standin.calls() if c["args"][:2] == ["status", "--wait-ready"]]
    assert len(waits) == 2
    assert not [c for c in site.standin.calls() if c["args"][:1] == ["enable"]]
    assert not site.kubeconfig.exists()
    assert not (site.config_folder / "maia-test-kubeconfig.yaml").exists()
    assert fresh_api.get_object("v1", "Namespace", "argocd") is None


def test_oidc_replaces_older_values_and_restarts_once(fresh_api, new_site):
    site = new_site(fresh_api, {"maia": {"k8s": {"install_argocd": False}}})
    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    args = site.standin.apiserver_args_file()
    lines = args.read_text().splitlines()
    lines = [("--oidc-client-id=old-client" if ln.startswith("--oidc-client-id=") else ln) for ln in lines]
    lines.append("--oidc-issuer-url=https://old.example/realms/x")
    args.write_text("\n".join(lines) + "\n")
    stops = site.standin.state()["stops"]

    rc, predicted, _ = site.apply(test=True)
    assert rc == 0
    change = predicted[next(k for k, v in predicted.items() if v["__id__"] == "maia-k8s-oidc-apiserver-args-set")]
    assert change["changes"]["--oidc-client-id"] == {"old": "old-client", "new": "maia"}
    assert "--oidc-issuer-url" in change["changes"]  # duplicated line
    assert changed_ids(predicted) == {"maia-k8s-oidc-apiserver-args-set", "maia-k8s-oidc-microk8s-restarted-when-changed"}

    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    assert changed_ids(data) == {"maia-k8s-oidc-apiserver-args-set", "maia-k8s-oidc-microk8s-restarted-when-changed"}
    new_lines = args.read_text().splitlines()
    assert [ln for ln in new_lines if ln.startswith("--oidc-client-id")] == ["--oidc-client-id=maia"]
    assert [ln for ln in new_lines if ln.startswith("--oidc-issuer-url")] == [
        "--oidc-issuer-url=https://iam.maia.example.test/realms/maia"
    ]
    assert site.standin.state()["stops"] == stops + 1


def _public_key(pem: bytes, private: bool):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem, None).public_key() if private else x509.load_pem_x509_certificate(pem).public_key()
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_external_ca_without_key_is_oidc_only_and_the_ca_secret_keeps_a_matching_pair(fresh_api, new_site, tmp_path):
    """The collection's README form of externalCA (name and cert, no key): the cert goes
    to --oidc-ca-file; the kubernetes-ca TLS secret is MicroK8s' own pair, so its key
    matches its certificate (cert-manager's CA issuer can sign with it)."""
    import base64

    from maia_lab.standins.microk8s import make_ca

    cert, _key = make_ca("maia-external-ca")
    (tmp_path / "ext.crt").write_text(cert)
    site = new_site(
        fresh_api,
        {"maia": {"cluster": {"externalCA": {"name": "external-ca-secret", "cert": str(tmp_path / "ext.crt")}},
                  "k8s": {"install_argocd": False}}},
    )
    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    lines = site.standin.apiserver_args_file().read_text().splitlines()
    assert f"--oidc-ca-file={tmp_path / 'ext.crt'}" in lines

    data = fresh_api.get_object("v1", "Secret", "kubernetes-ca", "cert-manager")["data"]
    tls_crt, tls_key = base64.b64decode(data["tls.crt"]), base64.b64decode(data["tls.key"])
    assert _public_key(tls_key, private=True) == _public_key(tls_crt, private=False)
    assert tls_crt.decode() == site.standin.state()["ca"]["ca.crt"] != cert
    configmap = fresh_api.get_object("v1", "ConfigMap", "internal-ca", "istio-system")
    assert configmap["data"]["ca.pem"] == tls_crt.decode()


def test_argocd_password_change_updates_hash_and_mtime(fresh_api, new_site):
    import base64

    import bcrypt

    site = new_site(fresh_api, {"maia": {"k8s": {"enable_ca": False}}})
    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    before = fresh_api.get_object("v1", "Secret", "argocd-secret", "argocd")["data"]
    site.write_pillar({"maia": {"env": {"ARGOCD_PASSWORD": "another-password-123", "argocd_bcrypt_password": ""}}})
    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    assert changed_ids(data) == {"maia-k8s-argocd-admin-password-set"}
    after = fresh_api.get_object("v1", "Secret", "argocd-secret", "argocd")["data"]
    hashed = base64.b64decode(after["admin.password"])
    assert hashed.startswith(b"$2a$") and bcrypt.checkpw(b"another-password-123", hashed)
    assert after["admin.password"] != before["admin.password"]
    rc, data, _ = site.apply()
    assert changed_ids(data) == set()


def test_mismatched_bcrypt_in_pillar_is_refused(fresh_api, new_site):
    site = new_site(fresh_api, {"maia": {"env": {"ARGOCD_PASSWORD": "not-the-hashed-one"}, "k8s": {"enable_ca": False}}})
    rc, data, _ = site.apply()
    assert rc != 0
    msg = failed(data)["maia-k8s-argocd-admin-password-set"]
    assert "is not the bcrypt of" in msg and "not-the-hashed-one" not in msg
    assert fresh_api.get_object("v1", "Secret", "argocd-secret", "argocd") is None
